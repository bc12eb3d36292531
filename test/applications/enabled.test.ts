/**
 * Disabling and enabling an application through `updateApplication(patch: { enabled })`: a
 * disabled application gets no token and its tokens are refused at once; the last enabled holder
 * of the built-in admin role stays enabled, even when two disables race; `builtIn` tells Roster's
 * own applications apart.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeGlobalId } from '../../src/graphql/ids.ts';
import { graphql } from '../helpers/documents.ts';
import { adminRoleId, createM2M, makeRole } from '../helpers/fixtures.ts';
import { auditSince, expectRefused, expectTopLevelError, lastAuditId, rawId } from '../helpers/graphql.ts';
import { startTestServer, type Credentials, type TestServer } from '../helpers/server.ts';

let server: TestServer;
let admin: Credentials;
let adminToken: string;
let readerRole: string;

beforeAll(async () => {
  server = await startTestServer();
  admin = server.admin;
  adminToken = await server.token(admin);
  readerRole = (await makeRole(server, admin.realmId, 'Reader', ['realm:read', 'applications:read'])).globalId;
}, 120_000);

afterAll(async () => {
  await server?.close();
});

const SET_ENABLED = graphql(`
  mutation ApplicationsEnabledSet($id: ID!, $enabled: Boolean) {
    updateApplication(input: { id: $id, patch: { enabled: $enabled } }) {
      application {
        id
        enabled
        builtIn
      }
      userErrors {
        ...TestUserErrors
      }
    }
  }
`);

const GET = graphql(`
  query ApplicationsEnabledGet($id: ID!) {
    application(id: $id) {
      id
      name
      enabled
      builtIn
    }
  }
`);

const REALM_NAME = graphql(`
  query ApplicationsEnabledRealmName {
    realm {
      name
    }
  }
`);

describe('updateApplication(patch: { enabled })', () => {
  it('disables an application: its token is refused at once and it gets no new one; enabling it again lets it back in', async () => {
    const app = await createM2M(server, admin, 'Nightly export', [readerRole], adminToken);
    const token = await server.token(app);
    expect((await server.graphql(REALM_NAME, {}, token)).data?.realm.name).toBe('default');

    const since = await lastAuditId(server, admin.realmId);
    const disabled = await server.graphql(SET_ENABLED, { id: app.id, enabled: false }, adminToken);
    expect(disabled.data?.updateApplication).toEqual({
      application: { id: app.id, enabled: false, builtIn: false },
      userErrors: [],
    });
    const events = await auditSince(server, admin.realmId, since);
    expect(events.map((e) => [e.action, e.targetId, e.changes])).toEqual([
      ['application.updated', rawId(app.id), { enabled: { before: true, after: false } }],
    ]);
    const stored = await server.db.prisma.application.findUniqueOrThrow({ where: { id: rawId(app.id) } });
    expect(stored.disabledAt).not.toBeNull();

    const refused = await server.graphql(REALM_NAME, {}, token);
    expect(refused.status).toBe(401);
    expect(refused.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    await expect(server.token(app)).rejects.toThrow(/401/);

    // Disabling it again changes nothing and records nothing.
    const again = await server.graphql(SET_ENABLED, { id: app.id, enabled: false }, adminToken);
    expect(again.data?.updateApplication.userErrors).toEqual([]);
    expect(await auditSince(server, admin.realmId, since)).toHaveLength(1);

    const enabled = await server.graphql(SET_ENABLED, { id: app.id, enabled: true }, adminToken);
    expect(enabled.data?.updateApplication.application).toEqual({ id: app.id, enabled: true, builtIn: false });
    expect((await auditSince(server, admin.realmId, since)).at(-1)!.changes).toEqual({
      enabled: { before: false, after: true },
    });
    const fresh = await server.token(app);
    expect((await server.graphql(REALM_NAME, {}, fresh)).data?.realm.name).toBe('default');
  });

  it('refuses enabled: null at the field and an unknown id, changing nothing', async () => {
    const app = await createM2M(server, admin, 'Kept', [readerRole], adminToken);
    await expectRefused(server, () => server.graphql(SET_ENABLED, { id: app.id, enabled: null }, adminToken), [
      { code: 'REQUIRED', field: ['input', 'patch', 'enabled'] },
    ]);
    const unknown = encodeGlobalId('Application', '00000000-0000-4000-8000-000000000000');
    await expectRefused(server, () => server.graphql(SET_ENABLED, { id: unknown, enabled: false }, adminToken), [
      { code: 'NOT_FOUND', field: ['input', 'id'] },
    ]);
    expect((await server.graphql(GET, { id: app.id }, adminToken)).data?.application?.enabled).toBe(true);
  });

  it('is refused (FORBIDDEN, nothing runs) for a token without applications:write', async () => {
    const app = await createM2M(server, admin, 'Target', [readerRole], adminToken);
    const reader = await server.token(await createM2M(server, admin, 'Reader app', [readerRole], adminToken));
    expect((await server.graphql(GET, { id: app.id }, reader)).data?.application?.enabled).toBe(true);
    await expectTopLevelError(
      server,
      () => server.graphql(SET_ENABLED, { id: app.id, enabled: false }, reader),
      'FORBIDDEN',
    );
  });
});

describe('the last enabled holder of the admin role', () => {
  it('cannot be disabled (INVALID_STATE at the field); can once another enabled application holds the role', async () => {
    const realm = await server.createRealm('last-enabled-admin');
    const token = await server.token(realm);
    const bootstrap = await server.db.prisma.application.findUniqueOrThrow({ where: { clientId: realm.clientId } });
    const bootstrapId = encodeGlobalId('Application', bootstrap.id);
    expect((await server.graphql(GET, { id: bootstrapId }, token)).data?.application).toMatchObject({
      builtIn: true,
      enabled: true,
    });

    await expectRefused(server, () => server.graphql(SET_ENABLED, { id: bootstrapId, enabled: false }, token), [
      { code: 'INVALID_STATE', field: ['input', 'patch', 'enabled'] },
    ]);

    const admins = await adminRoleId(server, realm.realmId);
    const second = await createM2M(server, realm, 'Second admin', [admins], token);
    // A disabled holder does not count: with the second one disabled, the first stays the last.
    const off = await server.graphql(SET_ENABLED, { id: second.id, enabled: false }, token);
    expect(off.data?.updateApplication.userErrors).toEqual([]);
    await expectRefused(server, () => server.graphql(SET_ENABLED, { id: bootstrapId, enabled: false }, token), [
      { code: 'INVALID_STATE', field: ['input', 'patch', 'enabled'] },
    ]);

    const on = await server.graphql(SET_ENABLED, { id: second.id, enabled: true }, token);
    expect(on.data?.updateApplication.userErrors).toEqual([]);
    const secondToken = await server.token(second);
    const done = await server.graphql(SET_ENABLED, { id: bootstrapId, enabled: false }, secondToken);
    expect(done.data?.updateApplication.application).toEqual({ id: bootstrapId, enabled: false, builtIn: true });
  });

  it('keeps one enabled holder when two disables race', async () => {
    const race = await server.createRealm('disable-race');
    const raceToken = await server.token(race);
    const admins = await adminRoleId(server, race.realmId);
    const first = encodeGlobalId(
      'Application',
      (await server.db.prisma.application.findUniqueOrThrow({ where: { clientId: race.clientId } })).id,
    );
    const second = await createM2M(server, race, 'Second', [admins], raceToken);
    const writers = await makeRole(server, race.realmId, 'App admins', ['applications:read', 'applications:write']);
    const disabler = await server.token(await createM2M(server, race, 'Disabler', [writers.globalId], raceToken));

    const results = await Promise.all([
      server.graphql(SET_ENABLED, { id: first, enabled: false }, disabler),
      server.graphql(SET_ENABLED, { id: second.id, enabled: false }, disabler),
    ]);
    const codes = results.map((result) => result.data!.updateApplication.userErrors.map((e) => e.code).join()).sort();
    expect(codes).toEqual(['', 'INVALID_STATE']);
    const enabledHolders = await server.db.prisma.applicationRole.count({
      where: { realmId: race.realmId, roleId: rawId(admins), application: { disabledAt: null } },
    });
    expect(enabledHolders).toBe(1);
  });
});
