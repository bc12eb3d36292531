/**
 * The authentication path's caches: a token seen before costs no signature check and no
 * statement, until a grant of its realm changes, and then the very next request reads again.
 * On PostgreSQL also across API processes: a change made through one is refused at the very
 * next request to another, also when the other missed the change's notification.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/client.ts';
import { IN_MEMORY } from '../../src/db/embedded.ts';
import { LISTENER_NAME } from '../../src/db/grant-changes.ts';
import { encodeGlobalId } from '../../src/graphql/ids.ts';
import { graphql } from '../helpers/documents.ts';
import {
  adminRoleId,
  createApplication,
  makeSession,
  makeUser,
  signPersonToken,
  type TestUser,
} from '../helpers/fixtures.ts';
import { payloadOf, rawId } from '../helpers/graphql.ts';
import { startTestServer, type Credentials, type TestServer } from '../helpers/server.ts';

const VIEWER = graphql(`
  query AuthCacheViewer {
    viewer {
      clientId
      scopes
    }
  }
`);
const USERS = graphql(`
  query AuthCacheUsers {
    users(first: 5) {
      totalCount
      nodes {
        id
        email
      }
    }
  }
`);
const REMOVE_APPLICATION_ROLE = graphql(`
  mutation AuthCacheRemoveApplicationRole($input: RemoveApplicationRoleInput!) {
    removeApplicationRole(input: $input) {
      application {
        id
      }
      userErrors {
        ...TestUserErrors
      }
    }
  }
`);
const DELETE_APPLICATION = graphql(`
  mutation AuthCacheDeleteApplication($input: DeleteInput!) {
    deleteApplication(input: $input) {
      deletedId
      userErrors {
        ...TestUserErrors
      }
    }
  }
`);
const REVOKE_SESSION = graphql(`
  mutation AuthCacheRevokeSession($input: RevokeSessionInput!) {
    revokeSession(input: $input) {
      revokedSessionIds
      userErrors {
        ...TestUserErrors
      }
    }
  }
`);
const SUSPEND_USER = graphql(`
  mutation AuthCacheSuspendUser($input: SuspendUserInput!) {
    suspendUser(input: $input) {
      user {
        status
      }
      userErrors {
        ...TestUserErrors
      }
    }
  }
`);

/** Both statements that read what a caller holds aggregate the scope names so. */
const GRANTS_STATEMENT = /array_agg\(DISTINCT s\.name\)/;

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
}, 120_000);

afterAll(() => server?.close());

async function applicationOf(target: TestServer, credentials: Credentials) {
  const app = await target.db.prisma.application.findUniqueOrThrow({ where: { clientId: credentials.clientId } });
  return { id: app.id, globalId: encodeGlobalId('Application', app.id), clientId: app.clientId };
}

/** Removes the built-in admin role from the application of `credentials`, through the API of `server`. */
async function removeAdminRole(credentials: Credentials) {
  const removed = payloadOf(
    await server.graphql(REMOVE_APPLICATION_ROLE, {
      input: {
        applicationId: (await applicationOf(server, credentials)).globalId,
        roleId: await adminRoleId(server, credentials.realmId),
      },
    }),
  );
  expect(removed.application).not.toBeNull();
}

/** A user holding the built-in admin role, with a live session. */
async function adminPerson(target: TestServer): Promise<{ user: TestUser; session: { id: string; globalId: string } }> {
  const realmId = target.admin.realmId;
  const user = await makeUser(target, realmId, { email: `${randomUUID()}@people.example` });
  const roleId = rawId(await adminRoleId(target, realmId));
  await target.db.prisma.userRole.create({ data: { realmId, userId: user.id, roleId } });
  return { user, session: await makeSession(target, realmId, user.id) };
}

async function personTokenFor(target: TestServer, sub: string, sid: string): Promise<string> {
  const app = await applicationOf(target, target.admin);
  return signPersonToken(target, target.admin.realmId, {
    sub,
    sid,
    scope: 'users:read',
    appId: app.id,
    clientId: app.clientId,
  });
}

async function expectUnauthenticated(target: TestServer, token: string) {
  const result = await target.graphql(VIEWER, {}, token);
  expect(result.status).toBe(401);
  expect(result.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  expect(result.data ?? null).toBeNull();
}

describe('a token seen before', () => {
  it('costs no statement for the viewer, and none for authentication on a users page', async () => {
    const token = await server.token();
    const first = await server.db.statements.during(() => server.graphql(VIEWER, {}, token));
    expect(first.result.status).toBe(200);
    expect(first.sql.filter((sql) => GRANTS_STATEMENT.test(sql))).toHaveLength(1);

    const again = await server.db.statements.during(() => server.graphql(VIEWER, {}, token));
    expect(again.result.data?.viewer).toEqual(first.result.data?.viewer);
    expect(again.count).toBe(0);

    const users = await server.db.statements.during(() => server.graphql(USERS, {}, token));
    expect(users.result.errors).toBeUndefined();
    expect(users.sql.filter((sql) => GRANTS_STATEMENT.test(sql))).toEqual([]);
  });

  it('of a person costs no statement either, while their session lasts', async () => {
    const { user, session } = await adminPerson(server);
    const token = await personTokenFor(server, user.id, session.id);
    const first = await server.db.statements.during(() => server.graphql(VIEWER, {}, token));
    expect(first.result.data?.viewer.scopes).toEqual(['users:read']);
    expect(first.count).toBe(1);
    const again = await server.db.statements.during(() => server.graphql(VIEWER, {}, token));
    expect(again.result.data?.viewer.scopes).toEqual(['users:read']);
    expect(again.count).toBe(0);
  });

  it('is read again after a grant change through the API, which the next request sees', async () => {
    const second = await server.createRealm('default');
    const token = await server.token(second);
    await server.graphql(VIEWER, {}, token);
    expect((await server.db.statements.during(() => server.graphql(VIEWER, {}, token))).count).toBe(0);

    await removeAdminRole(second);

    const after = await server.db.statements.during(() => server.graphql(VIEWER, {}, token));
    expect(after.result.data?.viewer.scopes).toEqual([]);
    expect(after.sql.filter((sql) => GRANTS_STATEMENT.test(sql))).toHaveLength(1);
    const denied = await server.graphql(USERS, {}, token);
    expect(denied.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  it('is refused at every request once refused: refusals are not kept, each one is checked again', async () => {
    const second = await server.createRealm('default');
    const token = await server.token(second);
    await server.graphql(VIEWER, {}, token);
    await server.db.prisma.application.update({
      where: { clientId: second.clientId },
      data: { disabledAt: new Date() },
    });
    for (let i = 0; i < 2; i++) {
      const refused = await server.db.statements.during(() => expectUnauthenticated(server, token));
      expect(refused.sql.filter((sql) => GRANTS_STATEMENT.test(sql))).toHaveLength(1);
    }
    // Enabled again: accepted again, with no process restart.
    await server.db.prisma.application.update({ where: { clientId: second.clientId }, data: { disabledAt: null } });
    expect((await server.graphql(VIEWER, {}, token)).status).toBe(200);
  });

  it('is not kept past the end of its session, with no change in the database', async () => {
    const { user } = await adminPerson(server);
    const session = await makeSession(server, server.admin.realmId, user.id, {
      expiresAt: new Date(Date.now() + 1_500),
    });
    const token = await personTokenFor(server, user.id, session.id);
    expect((await server.graphql(VIEWER, {}, token)).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 1_600));
    await expectUnauthenticated(server, token);
  });

  it('garbage and forged tokens are refused without a statement, every time', async () => {
    const token = await server.token();
    const [header, payload, signature] = token.split('.');
    const forged = `${header}.${payload}.${signature!.slice(0, -4)}AAAA`;
    for (const bad of ['garbage', 'a.b.c', forged, forged]) {
      const refused = await server.db.statements.during(() => expectUnauthenticated(server, bad));
      expect(refused.sql.filter((sql) => GRANTS_STATEMENT.test(sql))).toEqual([]);
    }
  });
});

describe.skipIf(!process.env.TEST_DATABASE_URL)('two API processes on one PostgreSQL database', () => {
  let b: TestServer;

  beforeAll(async () => {
    const db = await openDatabase({ databaseUrl: server.databaseUrl!, dataDir: IN_MEMORY });
    b = await startTestServer({ database: { db, dispose: () => db.close() } });
  });

  afterAll(() => b?.close());

  /** Warms process B's caches with the token: its second request costs no statement. */
  async function warm(token: string) {
    expect((await b.graphql(VIEWER, {}, token)).status).toBe(200);
    const again = await b.db.statements.during(() => b.graphql(VIEWER, {}, token));
    expect(again.result.status).toBe(200);
    expect(again.count).toBe(0);
  }

  it('a role removed through A: the very next request to B lacks its scopes', async () => {
    const second = await server.createRealm('default');
    const token = await b.token(second);
    await warm(token);
    await removeAdminRole(second);
    const after = await b.graphql(VIEWER, {}, token);
    expect(after.data?.viewer.scopes).toEqual([]);
    expect((await b.graphql(USERS, {}, token)).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  it('an application deleted through A: the very next request to B is refused', async () => {
    const second = await server.createRealm('default');
    const token = await b.token(second);
    await warm(token);
    const app = await applicationOf(server, second);
    const deleted = payloadOf(await server.graphql(DELETE_APPLICATION, { input: { id: app.globalId } }));
    expect(deleted.deletedId).toBeTruthy();
    await expectUnauthenticated(b, token);
  });

  it("B's token endpoint: a realm setting and a role changed through A apply to B's very next token", async () => {
    const second = await server.createRealm('default');
    const lifetime = async () => {
      const claims = JSON.parse(Buffer.from((await b.token(second)).split('.')[1]!, 'base64url').toString()) as {
        iat: number;
        exp: number;
      };
      return claims.exp - claims.iat;
    };
    // Warm: B keeps the realm's row and what the application's roles grant.
    await lifetime();
    await lifetime();
    const warm = await b.db.statements.during(() => lifetime());
    expect(warm.sql.filter((sql) => /"Realm"|"RoleScope"/.test(sql))).toEqual([]);

    await server.db.prisma.realm.update({ where: { id: second.realmId }, data: { accessTokenTtlSeconds: 321 } });
    expect(await lifetime()).toBe(321);

    await removeAdminRole(second);
    const refused = await fetch(`${b.url}/oauth2/${second.realmId}/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${second.clientId}:${second.clientSecret}`).toString('base64')}`,
      },
      body: 'grant_type=client_credentials',
    });
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as { error: string }).error).toBe('invalid_scope');
  });

  it("B's token endpoint: a SPA disabled through A is refused by B's very next token request", async () => {
    const spa = await createApplication(server, {
      name: `SPA ${randomUUID()}`,
      type: 'SPA',
      redirectUris: ['https://spa.example.com/callback'],
    });
    // A known public client with a refresh token that is not one gets invalid_grant; an unknown
    // or disabled one, invalid_client.
    const refresh = async () => {
      const response = await fetch(`${b.url}/oauth2/default/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'refresh_token',
          refresh_token: 'not-a-token',
          client_id: spa.clientId,
        }),
      });
      return ((await response.json()) as { error: string }).error;
    };
    expect(await refresh()).toBe('invalid_grant');
    const warm = await b.db.statements.during(() => refresh());
    expect(warm.result).toBe('invalid_grant');
    expect(warm.sql.filter((sql) => /"Application"/.test(sql))).toEqual([]);

    await server.db.prisma.application.update({ where: { clientId: spa.clientId }, data: { disabledAt: new Date() } });
    expect(await refresh()).toBe('invalid_client');
  });

  it('the very next request to B sees each change through A, 50 times in a row', async () => {
    // A notification may arrive after the commit's answer, and so after B got the next request:
    // B's cache is checked only once its listening connection answered a round trip sent after
    // the request came (without it, about 1 in 10 of these requests was served from a stale grant).
    const second = await server.createRealm('default');
    const token = await b.token(second);
    for (let i = 0; i < 50; i++) {
      await warm(token);
      await server.db.prisma.application.update({
        where: { clientId: second.clientId },
        data: { disabledAt: new Date() },
      });
      await expectUnauthenticated(b, token);
      await server.db.prisma.application.update({ where: { clientId: second.clientId }, data: { disabledAt: null } });
    }
  });

  it('a session revoked or a user suspended through A: the very next request to B is refused', async () => {
    const revoked = await adminPerson(server);
    const revokedToken = await personTokenFor(b, revoked.user.id, revoked.session.id);
    await warm(revokedToken);
    payloadOf(await server.graphql(REVOKE_SESSION, { input: { sessionId: revoked.session.globalId } }));
    await expectUnauthenticated(b, revokedToken);

    const suspended = await adminPerson(server);
    const suspendedToken = await personTokenFor(b, suspended.user.id, suspended.session.id);
    await warm(suspendedToken);
    payloadOf(await server.graphql(SUSPEND_USER, { input: { id: suspended.user.globalId, revokeSessions: false } }));
    await expectUnauthenticated(b, suspendedToken);
  });

  it('a change B could not hear (its listening connection ended first) is still seen by its next request', async () => {
    const second = await server.createRealm('default');
    const token = await b.token(second);
    await warm(token);
    // One transaction through A: the listening connections end (waited for; B's among them),
    // then the change commits; its notification reaches no listener of B.
    await server.db.prisma.$transaction(async (tx) => {
      const ended = await tx.$queryRaw<{ ended: boolean }[]>`
        SELECT pg_terminate_backend(pid, 5000) AS ended FROM pg_stat_activity
        WHERE datname = current_database() AND application_name = ${LISTENER_NAME}
          AND pid <> pg_backend_pid()`;
      expect(ended.length).toBeGreaterThan(0);
      await tx.application.update({ where: { clientId: second.clientId }, data: { disabledAt: new Date() } });
    });
    await expectUnauthenticated(b, token);

    // Listening again (B reconnects by itself), B caches again.
    expect(await b.db.grantChanges.ready()).toBe(true);
    await server.db.prisma.application.update({ where: { clientId: second.clientId }, data: { disabledAt: null } });
    await warm(token);
  });
});
