import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeGlobalId } from '../../src/graphql/ids.ts';
import type { CreateUserInput } from '../generated/graphql.ts';
import { graphql } from '../helpers/documents.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { expectUserErrors, payloadOf, rawId } from '../helpers/graphql.ts';
import { expectUnchanged } from '../helpers/state.ts';

let server: TestServer;
let realmId: string;
let role: string;

const CREATE_USERS = graphql(`
  mutation UsersBatchCreateUsers($input: CreateUsersInput!) {
    createUsers(input: $input) {
      createdCount
      userErrors {
        ...TestUserErrors
      }
      results {
        user {
          id
          email
          username
          hasPassword
        }
        userErrors {
          ...TestUserErrors
        }
      }
    }
  }
`);

async function createUsers(users: CreateUserInput[], atomic?: boolean) {
  return payloadOf(
    await server.graphql(CREATE_USERS, { input: { users, ...(atomic === undefined ? {} : { atomic }) } }),
  );
}

const countUsers = () => server.db.prisma.user.count({ where: { realmId } });

beforeAll(async () => {
  server = await startTestServer();
  realmId = server.admin.realmId;
  role = encodeGlobalId('Role', (await server.db.prisma.role.create({ data: { realmId, name: 'member' } })).id);
  await server.db.prisma.user.create({ data: { realmId, email: 'existing@example.com', username: 'existing' } });
}, 120_000);

afterAll(() => server?.close());

describe('createUsers', () => {
  it('creates each valid item on its own by default, reporting failures at their index', async () => {
    const before = await countUsers();
    const result = await createUsers([
      { email: 'one@example.com', username: 'one', password: 'a long enough passphrase', roleIds: [role] },
      { email: 'EXISTING@example.com' },
      { email: 'two@example.com', username: 'X' },
      { email: 'three@example.com', roleIds: [encodeGlobalId('Role', randomUUID())] },
      { phone: '+14155550111' },
      { email: 'one@example.com' },
    ]);
    expect(result.userErrors).toEqual([]);
    expect(result.createdCount).toBe(2);
    expect(result.results.map((r) => r.user?.email ?? null)).toEqual(['one@example.com', null, null, null, null, null]);
    expect(result.results[4]!.user).not.toBeNull();
    expect(result.results[0]!.user!.hasPassword).toBe(true);
    expectUserErrors(result.results[1]!, [['TAKEN', ['input', 'users', '1', 'email']]]);
    expectUserErrors(result.results[2]!, [['TOO_SHORT', ['input', 'users', '2', 'username']]]);
    expectUserErrors(result.results[3]!, [['NOT_FOUND', ['input', 'users', '3', 'roleIds', '0']]]);
    expectUserErrors(result.results[5]!, [['TAKEN', ['input', 'users', '5', 'email']]]);
    expect(await countUsers()).toBe(before + 2);
    const created = result.results.flatMap((r) => (r.user ? [rawId(r.user.id)] : []));
    const events = await server.db.prisma.auditEvent.findMany({ where: { targetId: { in: created } } });
    expect(events.map((e) => e.action)).toEqual(['user.created', 'user.created']);
    expect(await server.db.prisma.userRole.count({ where: { userId: rawId(result.results[0]!.user!.id) } })).toBe(1);
  });

  it('with atomic: true creates all or nothing, reporting every failing item', async () => {
    const failing = await expectUnchanged(server, () =>
      createUsers(
        [
          { email: 'a1@example.com', username: 'aa1' },
          { email: 'a2@example.com', username: 'aa1' },
          { email: 'a3@example.com', bio: 'b'.repeat(2001) },
          { email: 'A1@example.com' },
          { email: 'a5@example.com', password: 'short' },
          { email: 'existing@example.com' },
        ],
        true,
      ),
    );
    expect(failing.createdCount).toBe(0);
    expectUserErrors(failing, [['INVALID', ['input', 'users']]]);
    expect(failing.results.map((r) => r.user)).toEqual([null, null, null, null, null, null]);
    expect(failing.results[0]!.userErrors).toEqual([]);
    expectUserErrors(failing.results[1]!, [['TAKEN', ['input', 'users', '1', 'username']]]);
    expectUserErrors(failing.results[2]!, [['TOO_LONG', ['input', 'users', '2', 'bio']]]);
    expectUserErrors(failing.results[3]!, [['TAKEN', ['input', 'users', '3', 'email']]]);
    expectUserErrors(failing.results[4]!, [['TOO_SHORT', ['input', 'users', '4', 'password']]]);
    expectUserErrors(failing.results[5]!, [['TAKEN', ['input', 'users', '5', 'email']]]);

    const before = await countUsers();
    const ok = await createUsers(
      [
        { email: 'b1@example.com', username: 'bb1', password: 'another fine passphrase' },
        { email: 'b2@example.com', username: 'bb2', roleIds: [role] },
        { phone: '+14155550112' },
      ],
      true,
    );
    expect(ok.userErrors, JSON.stringify(ok.results)).toEqual([]);
    expect(ok.createdCount).toBe(3);
    expect(ok.results.every((r) => r.user !== null && r.userErrors.length === 0)).toBe(true);
    expect(await countUsers()).toBe(before + 3);
  });

  it('takes at most 1,000 users per call (BAD_USER_INPUT before the resolver runs, nothing created)', async () => {
    const users = Array.from({ length: 1001 }, (_, i) => ({ email: `bulk${i}@example.com` }));
    const result = await expectUnchanged(server, () => server.graphql(CREATE_USERS, { input: { users } }));
    expect(result.data ?? null).toBeNull();
    expect(result.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', argument: 'input.users' });
    expect(result.errors?.[0]?.message).toContain('1000');
  });

  it('creates 1,000 users in one atomic call', async () => {
    const before = await countUsers();
    const users = Array.from({ length: 1000 }, (_, i) => ({ email: `many${i}@example.com`, name: `Many ${i}` }));
    const result = await createUsers(users, true);
    expect(result.userErrors).toEqual([]);
    expect(result.createdCount).toBe(1000);
    expect(await countUsers()).toBe(before + 1000);
    expect(
      await server.db.prisma.auditEvent.count({ where: { realmId, action: 'user.created' } }),
    ).toBeGreaterThanOrEqual(1000);
  }, 120_000);

  it('refuses wrong-type ids inside items with BAD_USER_INPUT naming the item', async () => {
    const result = await expectUnchanged(server, () =>
      server.graphql(CREATE_USERS, {
        input: {
          users: [
            { email: 'c1@example.com' },
            { email: 'c2@example.com', roleIds: [encodeGlobalId('Tenant', randomUUID())] },
          ],
        },
      }),
    );
    expect(result.errors?.[0]?.extensions).toEqual({ code: 'BAD_USER_INPUT', argument: 'input.users.1.roleIds.0' });
    expect(result.errors?.[0]?.message).toBe(
      'input.users.1.roleIds.0 must be the ID of a Role, got the ID of a Tenant.',
    );
  });
});
