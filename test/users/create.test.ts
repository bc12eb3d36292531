import { randomUUID } from 'node:crypto';
import { hash as argon2Hash } from '@node-rs/argon2';
import bcrypt from 'bcryptjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyPassword } from '../../src/modules/users/users.passwords.ts';
import { encodeGlobalId } from '../../src/graphql/ids.ts';
import type { CreateUserInput } from '../generated/graphql.ts';
import { graphql } from '../helpers/documents.ts';
import { startTestServer, type Credentials, type TestServer } from '../helpers/server.ts';
import { expectErrorCode, expectUserErrors, payloadOf, rawId } from '../helpers/graphql.ts';
import { expectUnchanged } from '../helpers/state.ts';

let server: TestServer;
let realm: Credentials;
let other: Credentials;
let otherToken: string;
let roleA: string;
let roleB: string;
let tenantRole: string;
let powerfulRole: string;
let tenant1: string;
let tenant2: string;
let foreignRole: string;
let foreignTenant: string;

/** Every password sent in this file: none may ever appear in an audit row. */
const passwordsUsed: string[] = [];

const CREATE = graphql(`
  mutation UsersCreateCreateUser($input: CreateUserInput!) {
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
const USER_EMAIL = graphql(`
  query UsersCreateUserEmail($id: ID!) {
    user(id: $id) {
      email
    }
  }
`);

async function create(input: CreateUserInput, token?: string) {
  if (typeof input.password === 'string') passwordsUsed.push(input.password);
  return payloadOf(await server.graphql(CREATE, { input }, token));
}

/** Asserts the create is refused with exactly these errors and changes nothing. */
async function refused(input: CreateUserInput, expected: [string, string[] | null][], token?: string) {
  const result = await expectUnchanged(server, () => create(input, token));
  expect(result.user).toBeNull();
  expectUserErrors(result, expected);
  return result.userErrors;
}

beforeAll(async () => {
  server = await startTestServer();
  realm = server.admin;
  other = await server.createRealm('other');
  otherToken = await server.token(other);
  const p = server.db.prisma;
  const realmId = realm.realmId;
  const t1 = await p.tenant.create({ data: { realmId, name: 'Acme', slug: 'acme' } });
  const t2 = await p.tenant.create({ data: { realmId, name: 'Globex', slug: 'globex' } });
  tenant1 = encodeGlobalId('Tenant', t1.id);
  tenant2 = encodeGlobalId('Tenant', t2.id);
  roleA = encodeGlobalId('Role', (await p.role.create({ data: { realmId, name: 'support' } })).id);
  roleB = encodeGlobalId('Role', (await p.role.create({ data: { realmId, name: 'billing' } })).id);
  tenantRole = encodeGlobalId(
    'Role',
    (await p.role.create({ data: { realmId, name: 'acme-admin', tenantId: t1.id } })).id,
  );
  const realmWrite = await p.resourceScope.findFirstOrThrow({ where: { realmId, name: 'realm:write' } });
  const powerful = await p.role.create({ data: { realmId, name: 'realm-owner' } });
  await p.roleScope.create({ data: { realmId, roleId: powerful.id, scopeId: realmWrite.id } });
  powerfulRole = encodeGlobalId('Role', powerful.id);
  foreignRole = encodeGlobalId('Role', (await p.role.create({ data: { realmId: other.realmId, name: 'support' } })).id);
  foreignTenant = encodeGlobalId(
    'Tenant',
    (await p.tenant.create({ data: { realmId: other.realmId, name: 'Initech', slug: 'initech' } })).id,
  );
  await p.customAttributeDefinition.createMany({
    data: [
      { realmId, key: 'plan', displayName: 'Plan', type: 'ENUM', options: ['free', 'pro'] },
      { realmId, key: 'seats', displayName: 'Seats', type: 'NUMBER' },
      { realmId, key: 'since', displayName: 'Customer since', type: 'DATE' },
      { realmId, key: 'vip', displayName: 'VIP', type: 'BOOLEAN' },
      { realmId, key: 'note', displayName: 'Note', type: 'STRING' },
    ],
  });
}, 120_000);

afterAll(() => server?.close());

describe('createUser', () => {
  it('creates a user with every profile field, a password, roles and tenants, audited once', async () => {
    const password = 'canary-Tr0ub4dor&3-staple';
    const result = await create({
      email: 'Ada.Lovelace@Example.COM',
      phone: '+44 20 7946 0958',
      username: 'ada.l',
      uniqueId: 'emp-0001',
      password,
      name: '  Ada Lovelace ',
      givenName: 'Ada',
      familyName: 'Lovelace',
      nickname: 'Enchantress',
      picture: 'https://example.com/ada.png',
      bio: 'First programmer.\nPoet of science.',
      gender: 'female',
      birthdate: '1990-12-10',
      locale: 'en-GB',
      timezone: 'Europe/London',
      country: 'gb',
      region: 'England',
      city: 'London',
      emailVerified: true,
      roleIds: [roleA, tenantRole],
      tenantIds: [tenant1, tenant2],
      customAttributes: { plan: 'pro', seats: 12, since: '2020-01-31', vip: true, note: 'likes engines', gone: null },
      metadata: { crm: { id: 42 }, source: 'import' },
    });
    expect(result.userErrors).toEqual([]);
    const user = result.user!;
    expect(user).toMatchObject({
      email: 'ada.lovelace@example.com',
      phone: '+442079460958',
      username: 'ada.l',
      uniqueId: 'emp-0001',
      name: 'Ada Lovelace',
      picture: 'https://example.com/ada.png',
      birthdate: '1990-12-10',
      country: 'GB',
      status: 'ACTIVE',
      isSuspended: false,
      hasPassword: true,
      passwordExpired: false,
      emailVerified: true,
      phoneVerified: false,
      customAttributes: { plan: 'pro', seats: 12, since: '2020-01-31', vip: true, note: 'likes engines' },
      metadata: { crm: { id: 42 }, source: 'import' },
      version: 1,
      deletedAt: null,
    });

    const p = server.db.prisma;
    const row = await p.user.findUniqueOrThrow({ where: { id: rawId(user.id) } });
    expect(row.passwordAlgorithm).toBe('ARGON2ID');
    expect(row.passwordHash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(await verifyPassword(row.passwordHash!, 'ARGON2ID', password)).toBe(true);
    expect(await verifyPassword(row.passwordHash!, 'ARGON2ID', 'wrong password')).toBe(false);
    expect(row.passwordChangedAt).toBeInstanceOf(Date);

    const memberships = await p.tenantMembership.findMany({ where: { userId: row.id } });
    expect(memberships.map((m) => m.tenantId).sort()).toEqual([rawId(tenant1), rawId(tenant2)].sort());
    const roles = await p.userRole.findMany({ where: { userId: row.id } });
    expect(roles.map((r) => [r.roleId, r.tenantId]).sort()).toEqual(
      [
        [rawId(roleA), null],
        [rawId(tenantRole), rawId(tenant1)],
      ].sort(),
    );

    const events = await p.auditEvent.findMany({ where: { targetId: row.id } });
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      action: 'user.created',
      actorId: realm.clientId,
      targetType: 'User',
      outcome: 'success',
    });
    expect(events[0]!.changes).toMatchObject({
      email: 'ada.lovelace@example.com',
      username: 'ada.l',
      status: 'ACTIVE',
      hasPassword: true,
      roles: ['acme-admin', 'support'],
      tenants: ['acme', 'globex'],
    });
    const audit = JSON.stringify(events);
    expect(audit).not.toContain(password);
    expect(audit).not.toContain(row.passwordHash!);
    expect(audit).not.toContain('argon2');

    // The new user is visible to the very next request.
    const read = await server.graphql(USER_EMAIL, { id: user.id });
    expect(read.data!.user!.email).toBe('ada.lovelace@example.com');
  });

  it('needs an email or a phone; a phone alone works; without a password the user has none yet', async () => {
    await refused({ name: 'Nobody' }, [['REQUIRED', ['input', 'email']]]);
    const phoneOnly = await create({ phone: '+14155550100', name: 'Phone Only' });
    expect(phoneOnly.userErrors).toEqual([]);
    expect(phoneOnly.user).toMatchObject({ email: null, phone: '+14155550100', hasPassword: false, status: 'ACTIVE' });
    const invited = await create({ email: 'invitee@example.com', status: 'INVITED' });
    expect(invited.user).toMatchObject({ status: 'INVITED', hasPassword: false });
  });

  it('keeps email (ignoring case), username and unique id unique per realm', async () => {
    const first = await create({ email: 'grace@example.com', username: 'grace', uniqueId: 'G-1' });
    expect(first.userErrors).toEqual([]);
    await refused({ email: 'GRACE@Example.com' }, [['TAKEN', ['input', 'email']]]);
    await refused({ email: 'grace2@example.com', username: 'grace' }, [['TAKEN', ['input', 'username']]]);
    await refused({ email: 'grace3@example.com', uniqueId: 'G-1' }, [['TAKEN', ['input', 'uniqueId']]]);
    await refused({ email: 'grace@example.com', username: 'grace', uniqueId: 'G-1' }, [
      ['TAKEN', ['input', 'email']],
      ['TAKEN', ['input', 'username']],
      ['TAKEN', ['input', 'uniqueId']],
    ]);
    // Uniqueness is per realm.
    const elsewhere = await create({ email: 'grace@example.com', username: 'grace', uniqueId: 'G-1' }, otherToken);
    expect(elsewhere.userErrors).toEqual([]);
  });

  it('gives concurrent creates of the same email or username exactly one winner; the others get TAKEN', async () => {
    for (const [field, values] of [
      ['email', (i: number) => ({ email: 'Race@Example.com'.replace('Race', i % 2 ? 'race' : 'RACE') })],
      ['username', (i: number) => ({ email: `racer${i}@example.com`, username: 'racer' })],
    ] as const) {
      const results = await Promise.all([0, 1, 2, 3].map((i) => create(values(i))));
      expect(results.filter((r) => r.user).length, field).toBe(1);
      for (const loser of results.filter((r) => !r.user)) expectUserErrors(loser, [['TAKEN', ['input', field]]]);
    }
  });

  it('imports bcrypt and argon2id hashes as they are', async () => {
    const p = server.db.prisma;
    const bcryptHash = bcrypt.hashSync('imported-secret-1', 4);
    const fromBcrypt = await create({
      email: 'bcrypt@example.com',
      passwordHash: bcryptHash,
      passwordHashAlgorithm: 'BCRYPT',
    });
    expect(fromBcrypt.userErrors).toEqual([]);
    expect(fromBcrypt.user!.hasPassword).toBe(true);
    const row = await p.user.findUniqueOrThrow({ where: { id: rawId(fromBcrypt.user!.id) } });
    expect([row.passwordHash, row.passwordAlgorithm]).toEqual([bcryptHash, 'BCRYPT']);
    expect(await verifyPassword(row.passwordHash!, 'BCRYPT', 'imported-secret-1')).toBe(true);
    expect(await verifyPassword(row.passwordHash!, 'BCRYPT', 'imported-secret-2')).toBe(false);

    const phpHash = bcryptHash.replace(/^\$2b\$/, '$2y$');
    const fromPhp = await create({ email: 'php@example.com', passwordHash: phpHash, passwordHashAlgorithm: 'BCRYPT' });
    expect(fromPhp.userErrors).toEqual([]);
    expect(await verifyPassword(phpHash, 'BCRYPT', 'imported-secret-1')).toBe(true);

    const argonHash = await argon2Hash('imported-secret-3', { memoryCost: 4096, timeCost: 3, parallelism: 1 });
    const fromArgon = await create({
      email: 'argon@example.com',
      passwordHash: argonHash,
      passwordHashAlgorithm: 'ARGON2ID',
    });
    expect(fromArgon.userErrors).toEqual([]);
    const argonRow = await p.user.findUniqueOrThrow({ where: { id: rawId(fromArgon.user!.id) } });
    expect([argonRow.passwordHash, argonRow.passwordAlgorithm]).toEqual([argonHash, 'ARGON2ID']);
    expect(await verifyPassword(argonHash, 'ARGON2ID', 'imported-secret-3')).toBe(true);
    const event = await p.auditEvent.findFirstOrThrow({ where: { targetId: argonRow.id } });
    expect(event.changes).toMatchObject({ hasPassword: true, passwordImported: 'ARGON2ID' });
    expect(JSON.stringify(event)).not.toContain(argonHash);

    const errors = await refused(
      { email: 'bad-hash@example.com', passwordHash: '$2b$10$tooshort', passwordHashAlgorithm: 'BCRYPT' },
      [['INVALID', ['input', 'passwordHash']]],
    );
    expect(errors[0]!.message).not.toContain('tooshort');
    await refused({ email: 'bad-hash@example.com', passwordHash: bcryptHash, passwordHashAlgorithm: 'ARGON2ID' }, [
      ['INVALID', ['input', 'passwordHash']],
    ]);
    await refused(
      {
        email: 'bad-hash@example.com',
        passwordHash: argonHash.replace('argon2id', 'argon2i'),
        passwordHashAlgorithm: 'ARGON2ID',
      },
      [['INVALID', ['input', 'passwordHash']]],
    );
    await refused(
      {
        email: 'bad-hash@example.com',
        passwordHash: bcrypt.hashSync('x', 4).replace('$04$', '$31$'),
        passwordHashAlgorithm: 'BCRYPT',
      },
      [['INVALID', ['input', 'passwordHash']]],
    );
    await refused({ email: 'bad-hash@example.com', passwordHash: bcryptHash }, [
      ['REQUIRED', ['input', 'passwordHashAlgorithm']],
    ]);
    await refused({ email: 'bad-hash@example.com', passwordHashAlgorithm: 'BCRYPT' }, [
      ['REQUIRED', ['input', 'passwordHash']],
    ]);
    await refused(
      {
        email: 'bad-hash@example.com',
        password: 'a fine passphrase',
        passwordHash: bcryptHash,
        passwordHashAlgorithm: 'BCRYPT',
      },
      [['INVALID', ['input', 'passwordHash']]],
    );
  });

  it('enforces the password policy before hashing', async () => {
    const base = {
      email: 'grace.hopper@example.com',
      username: 'amazing-grace',
      name: 'Grace Hopper',
      familyName: 'Hopper',
    };
    await refused({ ...base, password: 'Ab1!xyz' }, [['TOO_SHORT', ['input', 'password']]]);
    await refused({ ...base, password: 'x'.repeat(257) }, [['TOO_LONG', ['input', 'password']]]);
    const common = await refused({ ...base, password: 'ILoveYou' }, [['WEAK_PASSWORD', ['input', 'password']]]);
    expect(common[0]!.message).toMatch(/common/);
    await refused({ ...base, password: 'password1' }, [['WEAK_PASSWORD', ['input', 'password']]]);
    const context = await refused({ ...base, password: 'Grace.Hopper-1906' }, [
      ['WEAK_PASSWORD', ['input', 'password']],
    ]);
    expect(context[0]!.message).toMatch(/email/);
    expect(context[0]!.message).not.toContain('Grace.Hopper-1906');
    await refused({ ...base, password: 'my-amazing-grace!' }, [['WEAK_PASSWORD', ['input', 'password']]]);
    await refused({ ...base, password: 'xx-HOPPER-xx-42' }, [['WEAK_PASSWORD', ['input', 'password']]]);
    // No composition rules: a long passphrase of lowercase words is fine.
    const ok = await create({ ...base, password: 'correct horse battery staple' });
    expect(ok.userErrors).toEqual([]);

    // The realm's minimum length, set through the API (8 to 128), applies to new passwords.
    const setMinimum = async (passwordMinLength: number) => {
      const answer = await server.graphql(
        `mutation ($patch: RealmSettingsPatch!) {
          updateRealmSettings(input: { patch: $patch }) {
            realm { settings { passwordMinLength } }
            userErrors { code field message }
          }
        }`,
        { patch: { passwordMinLength } },
      );
      expect(answer.errors).toBeUndefined();
      return answer.data!.updateRealmSettings as {
        realm: { settings: { passwordMinLength: number } } | null;
        userErrors: { code: string; field: string[]; message: string }[];
      };
    };
    for (const outOfRange of [7, 129]) {
      const { realm: changed, userErrors } = await setMinimum(outOfRange);
      expect(changed).toBeNull();
      expect(userErrors).toEqual([
        {
          code: 'INVALID',
          field: ['input', 'patch', 'passwordMinLength'],
          message: 'passwordMinLength must be between 8 and 128 characters.',
        },
      ]);
    }
    expect((await server.db.prisma.realm.findUniqueOrThrow({ where: { id: realm.realmId } })).passwordMinLength).toBe(
      8,
    );
    expect(await setMinimum(14)).toEqual({ realm: { settings: { passwordMinLength: 14 } }, userErrors: [] });
    try {
      const errors = await refused({ email: 'min@example.com', password: 'lengthy-pass' }, [
        ['TOO_SHORT', ['input', 'password']],
      ]);
      expect(errors[0]!.message).toContain('14');
      expect((await create({ email: 'min@example.com', password: 'lengthy-passphrase' })).userErrors).toEqual([]);
    } finally {
      expect((await setMinimum(8)).userErrors).toEqual([]);
    }
  });

  it('validates every profile field, reporting each error at its input path, and changes nothing', async () => {
    const email = 'valid@example.com';
    const today = new Date();
    const tomorrow = new Date(today.getTime() + 2 * 86_400_000).toISOString().slice(0, 10);
    const cases: [Partial<CreateUserInput>, [string, string[]]][] = [
      [{ username: 'ab' }, ['TOO_SHORT', ['input', 'username']]],
      [{ username: 'a'.repeat(65) }, ['TOO_LONG', ['input', 'username']]],
      [{ username: 'Ada' }, ['INVALID', ['input', 'username']]],
      [{ username: 'ada lovelace' }, ['INVALID', ['input', 'username']]],
      [{ name: 'n'.repeat(201) }, ['TOO_LONG', ['input', 'name']]],
      [{ name: 'line\nbreak' }, ['INVALID', ['input', 'name']]],
      [{ givenName: 'g'.repeat(201) }, ['TOO_LONG', ['input', 'givenName']]],
      [{ familyName: 'f'.repeat(201) }, ['TOO_LONG', ['input', 'familyName']]],
      [{ nickname: 'k'.repeat(201) }, ['TOO_LONG', ['input', 'nickname']]],
      [{ bio: 'b'.repeat(2001) }, ['TOO_LONG', ['input', 'bio']]],
      [{ picture: 'ftp://example.com/a.png' }, ['INVALID', ['input', 'picture']]],
      [{ picture: 'javascript:alert(1)' }, ['INVALID', ['input', 'picture']]],
      [{ picture: `https://example.com/${'p'.repeat(2048)}` }, ['TOO_LONG', ['input', 'picture']]],
      [{ birthdate: tomorrow }, ['INVALID', ['input', 'birthdate']]],
      [{ birthdate: '1899-12-31' }, ['INVALID', ['input', 'birthdate']]],
      [{ gender: 'g'.repeat(51) }, ['TOO_LONG', ['input', 'gender']]],
      [{ region: 'r'.repeat(201) }, ['TOO_LONG', ['input', 'region']]],
      [{ city: 'c'.repeat(201) }, ['TOO_LONG', ['input', 'city']]],
      [{ uniqueId: 'u'.repeat(201) }, ['TOO_LONG', ['input', 'uniqueId']]],
      [{ phone: '555-1234' }, ['INVALID', ['input', 'phone']]],
      [{ email: `${'a'.repeat(60)}@${`${'b'.repeat(60)}.`.repeat(4)}com` }, ['TOO_LONG', ['input', 'email']]],
      [{ customAttributes: { unknown: 1 } }, ['INVALID', ['input', 'customAttributes', 'unknown']]],
      [{ customAttributes: { seats: 'many' } }, ['INVALID', ['input', 'customAttributes', 'seats']]],
      [{ customAttributes: { plan: 'gold' } }, ['INVALID', ['input', 'customAttributes', 'plan']]],
      [{ customAttributes: { since: '2024-02-30' } }, ['INVALID', ['input', 'customAttributes', 'since']]],
      [{ customAttributes: { since: '2024/01/01' } }, ['INVALID', ['input', 'customAttributes', 'since']]],
      [{ customAttributes: { vip: 'yes' } }, ['INVALID', ['input', 'customAttributes', 'vip']]],
      [{ customAttributes: { note: 'n'.repeat(1001) } }, ['TOO_LONG', ['input', 'customAttributes', 'note']]],
      [{ metadata: { blob: 'm'.repeat(16_400) } }, ['TOO_LONG', ['input', 'metadata']]],
      [{ status: 'DELETED' }, ['INVALID', ['input', 'status']]],
      [{ status: 'SUSPENDED' }, ['INVALID', ['input', 'status']]],
    ];
    for (const [fields, error] of cases) await refused({ email, ...fields }, [error]);
    // Several problems at once are all reported.
    await refused({ email, username: 'X', bio: 'b'.repeat(2001), customAttributes: { seats: true, nope: 1 } }, [
      ['TOO_SHORT', ['input', 'username']],
      ['TOO_LONG', ['input', 'bio']],
      ['INVALID', ['input', 'customAttributes', 'seats']],
      ['INVALID', ['input', 'customAttributes', 'nope']],
    ]);
    // Limits are inclusive.
    const limits = await create({
      email,
      username: 'u'.repeat(64),
      name: 'n'.repeat(200),
      bio: 'b'.repeat(2000),
      gender: 'g'.repeat(50),
      birthdate: '1900-01-01',
      metadata: { blob: 'm'.repeat(16_000) },
    });
    expect(limits.userErrors).toEqual([]);
  });

  it('refuses malformed scalars at the GraphQL layer with BAD_USER_INPUT', async () => {
    const cases: CreateUserInput[] = [
      { email: 'not-an-email' },
      { email: 'ok@example.com', phone: 'call me' },
      { email: 'ok@example.com', picture: 'not a url' },
      { email: 'ok@example.com', picture: '/relative/path.png' },
      { email: 'ok@example.com', country: 'XX' },
      { email: 'ok@example.com', locale: 'not a locale' },
      { email: 'ok@example.com', timezone: 'Mars/Olympus_Mons' },
      { email: 'ok@example.com', birthdate: '2020-02-30' },
      { email: 'ok@example.com', customAttributes: ['not', 'an', 'object'] as never },
      { email: 'ok@example.com', status: 'NOT_A_STATUS' as never },
      { email: 'ok@example.com', passwordHashAlgorithm: 'MD5' as never },
    ];
    for (const input of cases) {
      const result = await expectUnchanged(server, () => server.graphql(CREATE, { input }));
      expectErrorCode(result, 'BAD_USER_INPUT');
      expect(JSON.stringify(result.errors)).not.toMatch(/prisma|SELECT|INSERT/i);
    }
  });

  it('answers unknown ids and other realms’ ids alike (NOT_FOUND), wrong-type ids with BAD_USER_INPUT', async () => {
    const unknownRole = encodeGlobalId('Role', randomUUID());
    const unknown = await refused({ email: 'ids@example.com', roleIds: [roleA, unknownRole] }, [
      ['NOT_FOUND', ['input', 'roleIds', '1']],
    ]);
    const foreign = await refused({ email: 'ids@example.com', roleIds: [roleA, foreignRole] }, [
      ['NOT_FOUND', ['input', 'roleIds', '1']],
    ]);
    expect(foreign).toEqual(unknown);
    const unknownTenant = await refused(
      { email: 'ids@example.com', tenantIds: [encodeGlobalId('Tenant', randomUUID())] },
      [['NOT_FOUND', ['input', 'tenantIds', '0']]],
    );
    const foreignT = await refused({ email: 'ids@example.com', tenantIds: [foreignTenant] }, [
      ['NOT_FOUND', ['input', 'tenantIds', '0']],
    ]);
    expect(foreignT).toEqual(unknownTenant);

    for (const roleIds of [[tenant1], ['not-an-id'], [encodeGlobalId('User', randomUUID())]]) {
      const result = await expectUnchanged(server, () =>
        server.graphql(CREATE, { input: { email: 'ids@example.com', roleIds } }),
      );
      expectErrorCode(result, 'BAD_USER_INPUT', 'createUser');
    }
    const wrongTenant = await expectUnchanged(server, () =>
      server.graphql(CREATE, { input: { email: 'ids@example.com', tenantIds: [roleA] } }),
    );
    expectErrorCode(wrongTenant, 'BAD_USER_INPUT', 'createUser');

    // A tenant-defined role needs its tenant among the user's tenants.
    await refused({ email: 'ids@example.com', roleIds: [tenantRole] }, [['INVALID', ['input', 'roleIds', '0']]]);
    await refused({ email: 'ids@example.com', roleIds: [tenantRole], tenantIds: [tenant2] }, [
      ['INVALID', ['input', 'roleIds', '0']],
    ]);
    const ok = await create({
      email: 'ids@example.com',
      roleIds: [tenantRole, roleB, roleB],
      tenantIds: [tenant1, tenant1],
    });
    expect(ok.userErrors).toEqual([]);
  });

  it('refuses more than one tenant in an ISOLATED_POOL realm (TENANCY_VIOLATION)', async () => {
    const isolated = await server.createRealm('isolated');
    const p = server.db.prisma;
    await p.realm.update({ where: { id: isolated.realmId }, data: { tenancyMode: 'ISOLATED_POOL' } });
    const a = await p.tenant.create({ data: { realmId: isolated.realmId, name: 'A', slug: 'a' } });
    const b = await p.tenant.create({ data: { realmId: isolated.realmId, name: 'B', slug: 'b' } });
    const token = await server.token(isolated);
    const tenantIds = [encodeGlobalId('Tenant', a.id), encodeGlobalId('Tenant', b.id)];
    await refused({ email: 'iso@example.com', tenantIds }, [['TENANCY_VIOLATION', ['input', 'tenantIds']]], token);
    const one = await create({ email: 'iso@example.com', tenantIds: [tenantIds[0]!] }, token);
    expect(one.userErrors).toEqual([]);
  });

  it('needs users:roles for roleIds and tenants:write for tenantIds, and never grants scopes the caller lacks', async () => {
    const writeOnly = await server.token(realm, 'users:write users:read');
    const noRoles = await expectUnchanged(server, () =>
      server.graphql(CREATE, { input: { email: 'scopes@example.com', roleIds: [roleA] } }, writeOnly),
    );
    expectErrorCode(noRoles, 'FORBIDDEN', 'createUser');
    expect(noRoles.errors?.[0]?.extensions?.missingScopes).toEqual(['users:roles']);
    const noTenants = await expectUnchanged(server, () =>
      server.graphql(CREATE, { input: { email: 'scopes@example.com', tenantIds: [tenant1] } }, writeOnly),
    );
    expect(noTenants.errors?.[0]?.extensions?.missingScopes).toEqual(['tenants:write']);

    const withRoles = await server.token(realm, 'users:write users:roles users:read');
    await refused(
      { email: 'scopes@example.com', roleIds: [powerfulRole] },
      [['FORBIDDEN_GRANT', ['input', 'roleIds']]],
      withRoles,
    );
    const ok = await create({ email: 'scopes@example.com', roleIds: [roleA] }, withRoles);
    expect(ok.userErrors).toEqual([]);

    const unauthenticated = await server.graphql(CREATE, { input: { email: 'anon@example.com' } }, null);
    expectErrorCode(unauthenticated, 'UNAUTHENTICATED', 'createUser');
    const readOnly = await server.graphql(
      CREATE,
      { input: { email: 'anon@example.com' } },
      await server.token(realm, 'users:read'),
    );
    expectErrorCode(readOnly, 'FORBIDDEN', 'createUser');
    expect(readOnly.errors?.[0]?.extensions?.missingScopes).toEqual(['users:write']);
  });

  it('never writes a password or a password hash to the audit trail', async () => {
    const rows = JSON.stringify(await server.db.prisma.auditEvent.findMany());
    expect(passwordsUsed.length).toBeGreaterThan(5);
    for (const password of passwordsUsed) expect(rows).not.toContain(password);
    for (const { passwordHash } of await server.db.prisma.user.findMany({ where: { passwordHash: { not: null } } })) {
      expect(rows).not.toContain(passwordHash);
    }
    expect(rows).not.toMatch(/passwordHash|\$argon2|\$2[aby]\$/);
  });
});
