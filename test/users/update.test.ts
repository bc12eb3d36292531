import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Prisma } from '../../src/generated/prisma/client.ts';
import { encodeGlobalId } from '../../src/graphql/ids.ts';
import type { CreateUserInput, ReplaceUserInput, UpdateUserInput } from '../generated/graphql.ts';
import { graphql } from '../helpers/documents.ts';
import { startTestServer, type Credentials, type TestServer } from '../helpers/server.ts';
import { userGid } from '../helpers/fixtures.ts';
import { expectErrorCode, expectUserErrors, payloadOf } from '../helpers/graphql.ts';
import { expectUnchanged } from '../helpers/state.ts';

let server: TestServer;
let realm: Credentials;
let other: Credentials;
let roleA: string;
let tenant1: string;
let tenant2: string;

const UPDATE = graphql(`
  mutation UsersUpdateUpdateUser($input: UpdateUserInput!) {
    updateUser(input: $input) {
      ...TestUpdateUserPayload
    }
  }
`);
const REPLACE = graphql(`
  mutation UsersUpdateReplaceUser($input: ReplaceUserInput!) {
    replaceUser(input: $input) {
      ...TestUpdateUserPayload
    }
  }
`);
const CREATE = graphql(`
  mutation UsersUpdateCreateUser($input: CreateUserInput!) {
    createUser(input: $input) {
      user {
        ...TestUser
      }
      userErrors {
        ...TestUserErrors
      }
    }
  }
`);

async function update(input: UpdateUserInput) {
  return payloadOf(await server.graphql(UPDATE, { input }));
}
async function replace(input: ReplaceUserInput) {
  return payloadOf(await server.graphql(REPLACE, { input }));
}

let counter = 0;
/** A user created directly in the database; returns its global id. */
async function makeUser(data: Partial<Prisma.UserUncheckedCreateInput> = {}, realmId = realm.realmId): Promise<string> {
  counter++;
  const user = await server.db.prisma.user.create({ data: { realmId, email: `user${counter}@example.com`, ...data } });
  return userGid(user.id);
}

const auditOf = (globalId: string) =>
  server.db.prisma.auditEvent.findMany({
    where: { targetId: Buffer.from(globalId, 'base64url').toString().split(':')[1]! },
    orderBy: { id: 'asc' },
  });

beforeAll(async () => {
  server = await startTestServer();
  realm = server.admin;
  other = await server.createRealm('other');
  const p = server.db.prisma;
  const realmId = realm.realmId;
  roleA = encodeGlobalId('Role', (await p.role.create({ data: { realmId, name: 'support' } })).id);
  tenant1 = encodeGlobalId('Tenant', (await p.tenant.create({ data: { realmId, name: 'Acme', slug: 'acme' } })).id);
  tenant2 = encodeGlobalId('Tenant', (await p.tenant.create({ data: { realmId, name: 'Globex', slug: 'globex' } })).id);
  await p.customAttributeDefinition.createMany({
    data: [
      { realmId, key: 'plan', displayName: 'Plan', type: 'ENUM', options: ['free', 'pro'] },
      { realmId, key: 'seats', displayName: 'Seats', type: 'NUMBER' },
      { realmId, key: 'since', displayName: 'Since', type: 'DATE' },
    ],
  });
}, 120_000);

afterAll(() => server?.close());

describe('updateUser', () => {
  it('changes only the given fields; null clears; JSON fields merge key by key', async () => {
    const id = await makeUser({
      name: 'Ada',
      givenName: 'Ada',
      bio: 'Old bio',
      city: 'London',
      customAttributes: { plan: 'free', seats: 3, since: '2020-01-01' },
      metadata: { a: 1, keep: true },
    });
    const result = await update({
      id,
      patch: {
        name: 'Ada Lovelace',
        bio: null,
        customAttributes: { plan: 'pro', seats: null },
        metadata: { a: null, b: { c: 1 } },
      },
    });
    expect(result.userErrors).toEqual([]);
    expect(result.user).toMatchObject({
      name: 'Ada Lovelace',
      givenName: 'Ada',
      bio: null,
      city: 'London',
      customAttributes: { plan: 'pro', since: '2020-01-01' },
      metadata: { keep: true, b: { c: 1 } },
      version: 2,
    });
    const events = await auditOf(id);
    expect(events).toHaveLength(1);
    expect(events[0]!.action).toBe('user.updated');
    expect(Object.keys(events[0]!.changes as object).sort()).toEqual(['bio', 'customAttributes', 'metadata', 'name']);
    expect((events[0]!.changes as any).bio).toEqual({ before: 'Old bio', after: null });

    // A patch that changes nothing writes nothing.
    const same = await expectUnchanged(server, () => update({ id, patch: { name: 'Ada Lovelace', city: 'London' } }));
    expect(same.user!.version).toBe(2);
    // Empty text clears like null.
    const cleared = await update({ id, patch: { city: '   ' } });
    expect(cleared.user).toMatchObject({ city: null, version: 3 });
  });

  it('resets emailVerified on a new email unless the patch sets it, and audits credential changes as such', async () => {
    const id = await makeUser({ emailVerified: true, phone: '+14155550100', phoneVerified: true, username: 'before' });
    const newEmail = await update({ id, patch: { email: 'New.Address@Example.com' } });
    expect(newEmail.user).toMatchObject({
      email: 'new.address@example.com',
      emailVerified: false,
      phoneVerified: true,
    });
    const verified = await update({ id, patch: { email: 'third@example.com', emailVerified: true } });
    expect(verified.user).toMatchObject({ email: 'third@example.com', emailVerified: true });
    const sameEmail = await update({ id, patch: { email: 'THIRD@example.com' } });
    expect(sameEmail.user).toMatchObject({ emailVerified: true, version: 3 });
    const phone = await update({ id, patch: { phone: '+1 415 555 0199', username: 'after' } });
    expect(phone.user).toMatchObject({ phone: '+14155550199', phoneVerified: false, username: 'after' });
    const events = await auditOf(id);
    expect(events.map((e) => e.action)).toEqual([
      'user.credentials_changed',
      'user.credentials_changed',
      'user.credentials_changed',
    ]);
    expect((events[0]!.changes as any).credentials).toEqual(['email']);
    expect((events[0]!.changes as any).emailVerified).toEqual({ before: true, after: false });
    expect((events[2]!.changes as any).credentials).toEqual(['phone', 'username']);
  });

  it('keeps an email or a phone: clearing the last one is REQUIRED', async () => {
    const emailOnly = await makeUser();
    const refused = await expectUnchanged(server, () => update({ id: emailOnly, patch: { email: null } }));
    expectUserErrors(refused, [['REQUIRED', ['input', 'patch', 'email']]]);
    const both = await makeUser({ phone: '+14155550101' });
    const noEmail = await update({ id: both, patch: { email: null } });
    expect(noEmail.user).toMatchObject({ email: null, phone: '+14155550101' });
    expectUserErrors(await expectUnchanged(server, () => update({ id: both, patch: { phone: null } })), [
      ['REQUIRED', ['input', 'patch', 'phone']],
    ]);
  });

  it('refuses values another user holds (TAKEN) and invalid values, at their patch paths', async () => {
    await makeUser({ email: 'taken@example.com', username: 'taken', uniqueId: 'U-1' });
    const id = await makeUser({ username: 'mine', uniqueId: 'U-2' });
    const taken = await expectUnchanged(server, () =>
      update({ id, patch: { email: 'Taken@Example.com', username: 'taken', uniqueId: 'U-1' } }),
    );
    expectUserErrors(taken, [
      ['TAKEN', ['input', 'patch', 'email']],
      ['TAKEN', ['input', 'patch', 'username']],
      ['TAKEN', ['input', 'patch', 'uniqueId']],
    ]);
    const invalid = await expectUnchanged(server, () =>
      update({
        id,
        patch: {
          username: 'No Spaces',
          bio: 'b'.repeat(2001),
          picture: 'ftp://example.com/x',
          birthdate: '1850-01-01',
          emailVerified: null,
          customAttributes: { plan: 'gold', unknown: 1 },
        },
      }),
    );
    expectUserErrors(invalid, [
      ['INVALID', ['input', 'patch', 'username']],
      ['TOO_LONG', ['input', 'patch', 'bio']],
      ['INVALID', ['input', 'patch', 'picture']],
      ['INVALID', ['input', 'patch', 'birthdate']],
      ['INVALID', ['input', 'patch', 'emailVerified']],
      ['INVALID', ['input', 'patch', 'customAttributes', 'plan']],
      ['INVALID', ['input', 'patch', 'customAttributes', 'unknown']],
    ]);
    // The size limit applies to the merged metadata.
    await update({ id, patch: { metadata: { a: 'x'.repeat(10_000) } } });
    expectUserErrors(
      await expectUnchanged(server, () => update({ id, patch: { metadata: { b: 'y'.repeat(10_000) } } })),
      [['TOO_LONG', ['input', 'patch', 'metadata']]],
    );
    for (const patch of [
      { email: 'nope' },
      { phone: 'nope' },
      { country: 'ZZ' },
      { timezone: 'Nowhere/Nope' },
      { locale: '!!' },
    ]) {
      expectErrorCode(
        await expectUnchanged(server, () => server.graphql(UPDATE, { input: { id, patch } })),
        'BAD_USER_INPUT',
        'updateUser',
      );
    }
  });

  it('answers unknown and other realms’ ids alike, refuses wrong-type ids and deleted users', async () => {
    const foreign = await makeUser({}, other.realmId);
    const unknown = await expectUnchanged(server, () => update({ id: userGid(randomUUID()), patch: { name: 'X' } }));
    const foreignResult = await expectUnchanged(server, () => update({ id: foreign, patch: { name: 'X' } }));
    expectUserErrors(unknown, [['NOT_FOUND', ['input', 'id']]]);
    expect(foreignResult).toEqual(unknown);
    expectErrorCode(
      await server.graphql(UPDATE, { input: { id: roleA, patch: { name: 'X' } } }),
      'BAD_USER_INPUT',
      'updateUser',
    );
    expectErrorCode(
      await server.graphql(UPDATE, { input: { id: 'garbage', patch: { name: 'X' } } }),
      'BAD_USER_INPUT',
      'updateUser',
    );
    const deleted = await makeUser({ status: 'DELETED', deletedAt: new Date() });
    expectUserErrors(await expectUnchanged(server, () => update({ id: deleted, patch: { name: 'X' } })), [
      ['INVALID_STATE', ['input', 'id']],
    ]);
  });

  it('refuses a stale expectedVersion with VERSION_CONFLICT', async () => {
    const id = await makeUser();
    expect((await update({ id, expectedVersion: 1, patch: { name: 'One' } })).user!.version).toBe(2);
    const stale = await expectUnchanged(server, () => update({ id, expectedVersion: 1, patch: { name: 'Two' } }));
    expectUserErrors(stale, [['VERSION_CONFLICT', ['input', 'expectedVersion']]]);
    expect(stale.userErrors[0]!.message).toContain('version 2');
    expect((await update({ id, expectedVersion: 2, patch: { name: 'Two' } })).user).toMatchObject({
      name: 'Two',
      version: 3,
    });
  });

  it('gives exactly one winner to concurrent updates with the same expectedVersion', async () => {
    for (let round = 0; round < 5; round++) {
      const id = await makeUser();
      const results = await Promise.all(
        ['Alice', 'Bob', 'Carol'].map((name) =>
          update({ id, expectedVersion: 1, patch: { name, city: `${name}ville` } }),
        ),
      );
      const winners = results.filter((r) => r.user !== null);
      const losers = results.filter((r) => r.user === null);
      expect(winners).toHaveLength(1);
      expect(losers.map((r) => r.userErrors.map((e) => e.code))).toEqual([['VERSION_CONFLICT'], ['VERSION_CONFLICT']]);
      const winner = winners[0]!.user!;
      expect(winner.version).toBe(2);
      expect(winner.city).toBe(`${winner.name}ville`);
      expect((await auditOf(id)).map((e) => e.action)).toEqual(['user.updated']);
    }
  });
});

describe('replaceUser', () => {
  it('overwrites the whole profile: fields not given are cleared, roles and password kept when omitted', async () => {
    const p = server.db.prisma;
    const created = payloadOf(
      await server.graphql(CREATE, {
        input: {
          email: 'replace.me@example.com',
          emailVerified: true,
          password: 'an original passphrase',
          name: 'Old Name',
          bio: 'Old bio',
          city: 'Paris',
          roleIds: [roleA],
          tenantIds: [tenant1],
          customAttributes: { plan: 'free' },
          metadata: { keep: false },
        },
      }),
    );
    const id = created.user!.id;
    const hashBefore = (await p.user.findFirstOrThrow({ where: { email: 'replace.me@example.com' } })).passwordHash;
    const result = await replace({
      id,
      expectedVersion: 1,
      user: { email: 'replace.me@example.com', name: 'New Name', tenantIds: [tenant2] },
    });
    expect(result.userErrors).toEqual([]);
    expect(result.user).toMatchObject({
      email: 'replace.me@example.com',
      emailVerified: false,
      name: 'New Name',
      bio: null,
      city: null,
      customAttributes: {},
      metadata: {},
      hasPassword: true,
      status: 'ACTIVE',
      version: 2,
    });
    const row = await p.user.findFirstOrThrow({
      where: { email: 'replace.me@example.com' },
      include: { roles: true, tenantMemberships: true },
    });
    expect(row.passwordHash).toBe(hashBefore);
    expect(row.roles).toHaveLength(1);
    expect(row.tenantMemberships.map((m) => m.tenantId)).toEqual([
      Buffer.from(tenant2, 'base64url').toString().split(':')[1],
    ]);
    const events = await auditOf(id);
    expect(events.map((e) => e.action)).toEqual(['user.created', 'user.replaced']);
    expect(events[1]!.changes).toMatchObject({
      name: { before: 'Old Name', after: 'New Name' },
      tenants: { before: ['acme'], after: ['globex'] },
      replaced: true,
    });

    // Roles are replaced when given; a new password replaces the hash.
    const again = await replace({
      id,
      user: { email: 'replace.me@example.com', roleIds: [], password: 'a brand new passphrase' },
    });
    expect(again.userErrors).toEqual([]);
    const after = await p.user.findFirstOrThrow({
      where: { email: 'replace.me@example.com' },
      include: { roles: true },
    });
    expect(after.roles).toEqual([]);
    expect(after.passwordHash).not.toBe(hashBefore);
    expect(JSON.stringify(await auditOf(id))).not.toContain('a brand new passphrase');
  });

  it('needs users:roles for any roleIds and tenants:write for any tenantIds, empty lists included', async () => {
    const created = payloadOf(
      await server.graphql(CREATE, {
        input: { email: 'guarded@example.com', roleIds: [roleA], tenantIds: [tenant1] },
      }),
    );
    const id = created.user!.id;
    const writeOnly = await server.token(realm, 'users:write users:read');
    const cases: [Pick<CreateUserInput, 'roleIds' | 'tenantIds'>, string[]][] = [
      [{ roleIds: [] }, ['users:roles']],
      [{ tenantIds: [] }, ['tenants:write']],
      [{ roleIds: [], tenantIds: [] }, ['users:roles', 'tenants:write']],
      [{ roleIds: [roleA], tenantIds: [tenant1] }, ['users:roles', 'tenants:write']],
    ];
    for (const [lists, missing] of cases) {
      const result = await expectUnchanged(server, () =>
        server.graphql(REPLACE, { input: { id, user: { email: 'guarded@example.com', ...lists } } }, writeOnly),
      );
      expectErrorCode(result, 'FORBIDDEN', 'replaceUser');
      expect(result.errors?.[0]?.extensions?.missingScopes, JSON.stringify(lists)).toEqual(missing);
    }
    const rolesOnly = await server.token(realm, 'users:write users:read users:roles');
    const noTenants = await expectUnchanged(server, () =>
      server.graphql(
        REPLACE,
        { input: { id, user: { email: 'guarded@example.com', roleIds: [], tenantIds: [] } } },
        rolesOnly,
      ),
    );
    expect(noTenants.errors?.[0]?.extensions?.missingScopes).toEqual(['tenants:write']);
    const row = await server.db.prisma.user.findFirstOrThrow({
      where: { email: 'guarded@example.com' },
      include: { roles: true, tenantMemberships: true },
    });
    expect([row.roles.length, row.tenantMemberships.length]).toEqual([1, 1]);

    // Without the lists, users:write is enough and roles and memberships are kept.
    const kept = payloadOf(
      await server.graphql(REPLACE, { input: { id, user: { email: 'guarded@example.com', name: 'Kept' } } }, writeOnly),
    );
    expect(kept.userErrors).toEqual([]);
    const after = await server.db.prisma.user.findFirstOrThrow({
      where: { email: 'guarded@example.com' },
      include: { roles: true, tenantMemberships: true },
    });
    expect([after.name, after.roles.length, after.tenantMemberships.length]).toEqual(['Kept', 1, 1]);
  });

  it('validates like createUser and follows the status lifecycle', async () => {
    const id = await makeUser({ name: 'Keep' });
    expectUserErrors(await expectUnchanged(server, () => replace({ id, user: { name: 'No contact' } })), [
      ['REQUIRED', ['input', 'user', 'email']],
    ]);
    expectUserErrors(
      await expectUnchanged(server, () => replace({ id, user: { email: 'x@example.com', username: 'Xyz!' } })),
      [['INVALID', ['input', 'user', 'username']]],
    );
    expectUserErrors(
      await expectUnchanged(server, () => replace({ id, user: { email: 'x@example.com', status: 'INVITED' } })),
      [['INVALID_STATE', ['input', 'user', 'status']]],
    );
    expectUserErrors(
      await expectUnchanged(server, () => replace({ id, user: { email: 'x@example.com', status: 'SUSPENDED' } })),
      [['INVALID_STATE', ['input', 'user', 'status']]],
    );
    expectUserErrors(
      await expectUnchanged(server, () => replace({ id, expectedVersion: 7, user: { email: 'x@example.com' } })),
      [['VERSION_CONFLICT', ['input', 'expectedVersion']]],
    );
    const suspended = await makeUser({ status: 'SUSPENDED', suspendedAt: new Date(), suspendedReason: 'fraud' });
    expectUserErrors(
      await expectUnchanged(server, () => replace({ id: suspended, user: { email: 'x@example.com' } })),
      [['INVALID_STATE', ['input', 'user', 'status']]],
    );
    const kept = await replace({ id: suspended, user: { email: 'x@example.com', status: 'SUSPENDED' } });
    expect(kept.user).toMatchObject({ status: 'SUSPENDED', isSuspended: true, suspendedReason: 'fraud' });
    const inactive = await replace({ id, user: { email: 'y@example.com', status: 'INACTIVE' } });
    expect(inactive.user).toMatchObject({ status: 'INACTIVE', name: null });
    expect((await auditOf(id)).map((e) => e.action)).toEqual(['user.credentials_changed']);
  });
});
