import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeGlobalId } from '../../src/graphql/ids.ts';
import type { LinkUserIdentityInput, SetUserUniqueIdInput } from '../generated/graphql.ts';
import { graphql } from '../helpers/documents.ts';
import { startTestServer, type Credentials, type GraphQLResult, type TestServer } from '../helpers/server.ts';
import { makeFactor, makeSession, makeUser, type TestUser } from '../helpers/fixtures.ts';
import {
  auditSince,
  expectRefused,
  expectTopLevelError,
  lastAuditId,
  missingId,
  payloadOf,
} from '../helpers/graphql.ts';

let server: TestServer;
let admin: Credentials;
let other: Credentials;
let otherToken: string;
let readOnly: string;
let foreignUser: TestUser;

graphql(`
  fragment UsersSecurityUserPayload on UpdateUserPayload {
    user {
      id
      version
      uniqueId
    }
    userErrors {
      ...TestUserErrors
    }
  }
`);
const REVOKE_ALL = graphql(`
  mutation UsersSecurityRevokeAll($input: UserIdInput!) {
    revokeUserSessions(input: $input) {
      revokedSessionIds
      userErrors {
        ...TestUserErrors
      }
    }
  }
`);
const REVOKE_ONE = graphql(`
  mutation UsersSecurityRevokeOne($input: RevokeSessionInput!) {
    revokeSession(input: $input) {
      revokedSessionIds
      userErrors {
        ...TestUserErrors
      }
    }
  }
`);
const RESET_MFA = graphql(`
  mutation UsersSecurityResetMfa($input: UserIdInput!) {
    resetUserMfa(input: $input) {
      ...UsersSecurityUserPayload
    }
  }
`);
const DELETE_PASSKEYS = graphql(`
  mutation UsersSecurityDeletePasskeys($input: UserIdInput!) {
    deleteUserPasskeys(input: $input) {
      ...UsersSecurityUserPayload
    }
  }
`);
const LINK = graphql(`
  mutation UsersSecurityLink($input: LinkUserIdentityInput!) {
    linkUserIdentity(input: $input) {
      ...UsersSecurityUserPayload
    }
  }
`);
const UNLINK = graphql(`
  mutation UsersSecurityUnlink($input: UnlinkUserIdentityInput!) {
    unlinkUserIdentity(input: $input) {
      ...UsersSecurityUserPayload
    }
  }
`);
const NOTE = graphql(`
  mutation UsersSecurityNote($input: AddAdminNoteInput!) {
    addAdminNote(input: $input) {
      ...UsersSecurityUserPayload
    }
  }
`);
const UNIQUE_ID = graphql(`
  mutation UsersSecurityUniqueId($input: SetUserUniqueIdInput!) {
    setUserUniqueId(input: $input) {
      ...UsersSecurityUserPayload
    }
  }
`);

const newUser = (data: Parameters<typeof makeUser>[2] = {}) => makeUser(server, admin.realmId, data);
const session = (user: TestUser, options: Parameters<typeof makeSession>[3] = {}) =>
  makeSession(server, admin.realmId, user.id, options);
const factor = (user: TestUser, type: 'TOTP' | 'WEBAUTHN' | 'RECOVERY_CODES') =>
  makeFactor(server, admin.realmId, user.id, type);

async function identity(user: TestUser, provider: string, providerUserId: string, realmId = admin.realmId) {
  return server.db.prisma.identity.create({ data: { realmId, userId: user.id, provider, providerUserId } });
}

async function dbUser(user: TestUser) {
  return server.db.prisma.user.findUniqueOrThrow({ where: { id: user.id } });
}

async function sessionsOf(user: TestUser) {
  return server.db.prisma.session.findMany({
    where: { userId: user.id },
    include: { refreshTokens: true },
    orderBy: { id: 'asc' },
  });
}

beforeAll(async () => {
  server = await startTestServer();
  admin = server.admin;
  other = await server.createRealm('other-realm');
  otherToken = await server.token(other);
  readOnly = await server.token(admin, 'users:read');
  foreignUser = await makeUser(server, other.realmId);
}, 120_000);

afterAll(async () => {
  await server?.close();
});

/**
 * The refusals every mutation taking a user id shares. `send` sends the mutation for a user id
 * with the given token (the admin's when undefined).
 */
async function expectUserIdRefusals<R>(
  send: (userId: string, token?: string | null) => Promise<GraphQLResult<R>>,
  field: string[],
) {
  const unknown = await expectRefused(server, () => send(missingId('User')), [{ code: 'NOT_FOUND', field }]);
  const foreign = await expectRefused(server, () => send(foreignUser.globalId), [{ code: 'NOT_FOUND', field }]);
  expect(foreign).toEqual(unknown);
  const mine = await newUser();
  await expectRefused(server, () => send(mine.globalId, otherToken), [{ code: 'NOT_FOUND', field }]);
  await expectTopLevelError(server, () => send(missingId('Session')), 'BAD_USER_INPUT');
  const forbidden = await expectTopLevelError(server, () => send(mine.globalId, readOnly), 'FORBIDDEN');
  expect(forbidden.errors![0]!.extensions!.missingScopes).toEqual(['users:write']);
  await expectTopLevelError(server, () => send(mine.globalId, null), 'UNAUTHENTICATED');
}

describe('revokeUserSessions', () => {
  it('revokes every active session and every refresh token of the user in one transaction, audited once', async () => {
    const user = await newUser();
    const bystander = await newUser();
    const first = await session(user, { tokens: 3 });
    const second = await session(user);
    const expired = await session(user, { expiresAt: new Date(Date.now() - 1000) });
    const revoked = await session(user, { revokedAt: new Date(Date.now() - 60_000) });
    const theirs = await session(bystander, { tokens: 2 });
    const since = await lastAuditId(server, admin.realmId);

    const payload = payloadOf(await server.graphql(REVOKE_ALL, { input: { id: user.globalId } }));
    expect(payload).toEqual({ revokedSessionIds: [first.globalId, second.globalId], userErrors: [] });

    const sessions = await sessionsOf(user);
    const byId = new Map(sessions.map((s) => [s.id, s]));
    const revokedAt = byId.get(first.id)!.revokedAt!;
    expect(revokedAt).toBeInstanceOf(Date);
    expect(byId.get(second.id)!.revokedAt).toEqual(revokedAt);
    expect(byId.get(first.id)!.revokedReason).toBe('revoked_by_admin');
    expect(byId.get(expired.id)!.revokedAt).toBeNull();
    expect(byId.get(revoked.id)!.revokedAt!.getTime()).toBeLessThan(revokedAt.getTime());
    // Every refresh token of the user, the expired session's included, is revoked.
    for (const s of sessions) for (const token of s.refreshTokens) expect(token.revokedAt).not.toBeNull();
    // Another user's sessions are untouched.
    const [bystanderSession] = await sessionsOf(bystander);
    expect(bystanderSession!.id).toBe(theirs.id);
    expect(bystanderSession!.revokedAt).toBeNull();
    expect(bystanderSession!.refreshTokens.map((t) => t.revokedAt)).toEqual([null, null]);

    const events = await auditSince(server, admin.realmId, since);
    expect(events.map((e) => [e.action, e.targetType, e.targetId, e.actorId, e.changes])).toEqual([
      [
        'user.sessions_revoked',
        'User',
        user.id,
        admin.clientId,
        { revokedSessionCount: 2, sessionIds: [first.id, second.id] },
      ],
    ]);
    // Sessions are their own objects: the user's version stays.
    expect((await dbUser(user)).version).toBe(1);
  });

  it('with no active session: success with an empty list, nothing changes, no audit', async () => {
    const user = await newUser();
    await session(user, { revokedAt: new Date() });
    const since = await lastAuditId(server, admin.realmId);
    expect(payloadOf(await server.graphql(REVOKE_ALL, { input: { id: user.globalId } }))).toEqual({
      revokedSessionIds: [],
      userErrors: [],
    });
    expect(await auditSince(server, admin.realmId, since)).toEqual([]);
  });

  it('refuses unknown, foreign and wrong-type ids, and callers without users:write', async () => {
    await expectUserIdRefusals((id, token) => server.graphql(REVOKE_ALL, { input: { id } }, token), ['input', 'id']);
  });
});

describe('revokeSession', () => {
  it('revokes one session with its refresh tokens; the others stay', async () => {
    const user = await newUser();
    const target = await session(user, { tokens: 2 });
    const sibling = await session(user);
    const since = await lastAuditId(server, admin.realmId);
    expect(payloadOf(await server.graphql(REVOKE_ONE, { input: { sessionId: target.globalId } }))).toEqual({
      revokedSessionIds: [target.globalId],
      userErrors: [],
    });
    const [a, b] = await sessionsOf(user);
    expect(a!.revokedAt).not.toBeNull();
    expect(a!.refreshTokens.every((t) => t.revokedAt !== null)).toBe(true);
    expect(b!.id).toBe(sibling.id);
    expect(b!.revokedAt).toBeNull();
    expect(b!.refreshTokens[0]!.revokedAt).toBeNull();
    const events = await auditSince(server, admin.realmId, since);
    expect(events.map((e) => [e.action, e.targetType, e.targetId, e.changes])).toEqual([
      ['user.session_revoked', 'User', user.id, { sessionId: target.id }],
    ]);
  });

  it('INVALID_STATE for a session already revoked or expired; NOT_FOUND for unknown and foreign sessions', async () => {
    const user = await newUser();
    const revoked = await session(user, { revokedAt: new Date() });
    const expired = await session(user, { expiresAt: new Date(Date.now() - 1000) });
    for (const s of [revoked, expired]) {
      await expectRefused(server, () => server.graphql(REVOKE_ONE, { input: { sessionId: s.globalId } }), [
        { code: 'INVALID_STATE', field: ['input', 'sessionId'] },
      ]);
    }
    const foreignSession = await makeSession(server, other.realmId, foreignUser.id);
    const unknown = await expectRefused(
      server,
      () => server.graphql(REVOKE_ONE, { input: { sessionId: missingId('Session') } }),
      [{ code: 'NOT_FOUND', field: ['input', 'sessionId'] }],
    );
    const foreign = await expectRefused(
      server,
      () => server.graphql(REVOKE_ONE, { input: { sessionId: foreignSession.globalId } }),
      [{ code: 'NOT_FOUND', field: ['input', 'sessionId'] }],
    );
    expect(foreign).toEqual(unknown);
    const active = await session(user);
    await expectRefused(
      server,
      () => server.graphql(REVOKE_ONE, { input: { sessionId: active.globalId } }, otherToken),
      [{ code: 'NOT_FOUND', field: ['input', 'sessionId'] }],
    );
    await expectTopLevelError(
      server,
      () => server.graphql(REVOKE_ONE, { input: { sessionId: user.globalId } }),
      'BAD_USER_INPUT',
    );
    await expectTopLevelError(
      server,
      () => server.graphql(REVOKE_ONE, { input: { sessionId: active.globalId } }, readOnly),
      'FORBIDDEN',
    );
  });
});

describe('resetUserMfa and deleteUserPasskeys', () => {
  it('resetUserMfa removes TOTP and recovery codes, keeps passkeys, and revokes the sessions', async () => {
    const user = await newUser();
    await factor(user, 'TOTP');
    await factor(user, 'RECOVERY_CODES');
    const passkey = await factor(user, 'WEBAUTHN');
    const active = await session(user, { tokens: 2 });
    const since = await lastAuditId(server, admin.realmId);

    const payload = payloadOf(await server.graphql(RESET_MFA, { input: { id: user.globalId } }));
    expect(payload).toEqual({ user: { id: user.globalId, version: 2, uniqueId: null }, userErrors: [] });
    const factors = await server.db.prisma.mfaFactor.findMany({ where: { userId: user.id } });
    expect(factors.map((f) => [f.id, f.type])).toEqual([[passkey, 'WEBAUTHN']]);
    const [s] = await sessionsOf(user);
    expect(s!.id).toBe(active.id);
    expect(s!.revokedAt).not.toBeNull();
    expect(s!.refreshTokens.every((t) => t.revokedAt !== null)).toBe(true);
    const events = await auditSince(server, admin.realmId, since);
    expect(events.map((e) => [e.action, e.targetId, e.changes])).toEqual([
      ['user.mfa_reset', user.id, { removedFactors: { TOTP: 1, RECOVERY_CODES: 1 }, revokedSessionCount: 1 }],
    ]);
  });

  it('deleteUserPasskeys removes WebAuthn factors only, and revokes the sessions', async () => {
    const user = await newUser();
    const totp = await factor(user, 'TOTP');
    await factor(user, 'WEBAUTHN');
    await factor(user, 'WEBAUTHN');
    await session(user);
    const since = await lastAuditId(server, admin.realmId);
    const payload = payloadOf(await server.graphql(DELETE_PASSKEYS, { input: { id: user.globalId } }));
    expect(payload.userErrors).toEqual([]);
    expect(payload.user!.version).toBe(2);
    expect((await server.db.prisma.mfaFactor.findMany({ where: { userId: user.id } })).map((f) => f.id)).toEqual([
      totp,
    ]);
    expect((await sessionsOf(user))[0]!.revokedAt).not.toBeNull();
    const events = await auditSince(server, admin.realmId, since);
    expect(events.map((e) => [e.action, e.changes])).toEqual([
      ['user.passkeys_deleted', { removedFactors: { WEBAUTHN: 2 }, revokedSessionCount: 1 }],
    ]);
  });

  it('nothing to remove: success, nothing changes (sessions stay, no audit, same version)', async () => {
    const user = await newUser();
    await factor(user, 'WEBAUTHN');
    await session(user);
    const before = await sessionsOf(user);
    const since = await lastAuditId(server, admin.realmId);
    expect(payloadOf(await server.graphql(RESET_MFA, { input: { id: user.globalId } }))).toEqual({
      user: { id: user.globalId, version: 1, uniqueId: null },
      userErrors: [],
    });
    const bare = await newUser();
    expect(payloadOf(await server.graphql(DELETE_PASSKEYS, { input: { id: bare.globalId } })).userErrors).toEqual([]);
    expect(await auditSince(server, admin.realmId, since)).toEqual([]);
    expect(await sessionsOf(user)).toEqual(before);
  });

  it('refuse unknown, foreign and wrong-type ids, and callers without users:write', async () => {
    await expectUserIdRefusals((id, token) => server.graphql(RESET_MFA, { input: { id } }, token), ['input', 'id']);
    await expectUserIdRefusals(
      (id, token) => server.graphql(DELETE_PASSKEYS, { input: { id } }, token),
      ['input', 'id'],
    );
  });
});

describe('linkUserIdentity', () => {
  it('links an identity, bumps the version and audits; linking it again to the same user changes nothing', async () => {
    const user = await newUser();
    const since = await lastAuditId(server, admin.realmId);
    const input = { userId: user.globalId, provider: 'google', providerUserId: 'g-1001', email: 'someone@gmail.com' };
    const payload = payloadOf(await server.graphql(LINK, { input }));
    expect(payload).toEqual({ user: { id: user.globalId, version: 2, uniqueId: null }, userErrors: [] });
    const [linked] = await server.db.prisma.identity.findMany({ where: { userId: user.id } });
    expect(linked).toMatchObject({ provider: 'google', providerUserId: 'g-1001', email: 'someone@gmail.com' });
    const events = await auditSince(server, admin.realmId, since);
    expect(events.map((e) => [e.action, e.targetId, e.changes])).toEqual([
      ['user.identity_linked', user.id, { identityId: linked!.id, provider: 'google', providerUserId: 'g-1001' }],
    ]);

    const again = await lastAuditId(server, admin.realmId);
    expect(payloadOf(await server.graphql(LINK, { input })).user!.version).toBe(2);
    expect(await auditSince(server, admin.realmId, again)).toEqual([]);
  });

  it('the provider and provider user id are unique per realm (TAKEN), not across realms', async () => {
    const owner = await newUser();
    await identity(owner, 'github', 'octocat');
    const user = await newUser();
    await expectRefused(
      server,
      () => server.graphql(LINK, { input: { userId: user.globalId, provider: 'github', providerUserId: 'octocat' } }),
      [{ code: 'TAKEN', field: ['input', 'providerUserId'] }],
    );
    await identity(foreignUser, 'gitlab', 'same-id', other.realmId);
    expect(
      payloadOf(
        await server.graphql(LINK, { input: { userId: user.globalId, provider: 'gitlab', providerUserId: 'same-id' } }),
      ).userErrors,
    ).toEqual([]);
  });

  it('validates the provider and the provider user id before anything else', async () => {
    const user = await newUser();
    const cases: [Partial<LinkUserIdentityInput>, { code: string; field: string[] }[]][] = [
      [{ provider: 'Google' }, [{ code: 'INVALID', field: ['input', 'provider'] }]],
      [{ provider: 'my provider' }, [{ code: 'INVALID', field: ['input', 'provider'] }]],
      [{ provider: '' }, [{ code: 'REQUIRED', field: ['input', 'provider'] }]],
      [{ provider: 'p'.repeat(51) }, [{ code: 'TOO_LONG', field: ['input', 'provider'] }]],
      [{ providerUserId: '' }, [{ code: 'REQUIRED', field: ['input', 'providerUserId'] }]],
      [{ providerUserId: 'x'.repeat(256) }, [{ code: 'TOO_LONG', field: ['input', 'providerUserId'] }]],
      [
        { provider: 'A', providerUserId: '', userId: missingId('User') },
        [
          { code: 'INVALID', field: ['input', 'provider'] },
          { code: 'REQUIRED', field: ['input', 'providerUserId'] },
        ],
      ],
    ];
    for (const [patch, expected] of cases) {
      await expectRefused(
        server,
        () =>
          server.graphql(LINK, { input: { userId: user.globalId, provider: 'okta', providerUserId: 'u1', ...patch } }),
        expected,
      );
    }
    // NUL bytes are refused for every string input before the resolver runs (issue 7).
    const nul = await expectTopLevelError(
      server,
      () => server.graphql(LINK, { input: { userId: user.globalId, provider: 'okta', providerUserId: 'a\u0000b' } }),
      'BAD_USER_INPUT',
    );
    expect(nul.errors?.[0]?.extensions?.argument).toBe('input.providerUserId');
    // Limits are inclusive.
    expect(
      payloadOf(
        await server.graphql(LINK, {
          input: { userId: user.globalId, provider: 'p'.repeat(50), providerUserId: 'x'.repeat(255) },
        }),
      ).userErrors,
    ).toEqual([]);
    await expectTopLevelError(
      server,
      () =>
        server.graphql(LINK, {
          input: { userId: user.globalId, provider: 'okta', providerUserId: 'u2', email: 'not an email' },
        }),
      'BAD_USER_INPUT',
    );
  });

  it('refuses a deleted user (INVALID_STATE), unknown, foreign and wrong-type ids', async () => {
    const deleted = await newUser({ status: 'DELETED', deletedAt: new Date() });
    await expectRefused(
      server,
      () => server.graphql(LINK, { input: { userId: deleted.globalId, provider: 'okta', providerUserId: 'd' } }),
      [{ code: 'INVALID_STATE', field: ['input', 'userId'] }],
    );
    await expectUserIdRefusals(
      (userId, token) => server.graphql(LINK, { input: { userId, provider: 'okta', providerUserId: 'z' } }, token),
      ['input', 'userId'],
    );
  });
});

describe('unlinkUserIdentity', () => {
  it('refuses to unlink the last way to sign in (INVALID_STATE, nothing changes)', async () => {
    // An unverified email or phone is not a way to sign in.
    const user = await newUser({ emailVerified: false, phone: '+14155550100', phoneVerified: false });
    await identity(user, 'google', 'last-one');
    await expectRefused(
      server,
      () =>
        server.graphql(UNLINK, { input: { userId: user.globalId, provider: 'google', providerUserId: 'last-one' } }),
      [{ code: 'INVALID_STATE', field: ['input', 'providerUserId'] }],
    );
  });

  const otherMethods: [string, (user: TestUser) => Promise<unknown>, Parameters<typeof makeUser>[2]][] = [
    ['a password', async () => undefined, { passwordHash: '$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaA' }],
    ['another identity', (user) => identity(user, 'github', `gh-${user.id}`), {}],
    ['a passkey', (user) => factor(user, 'WEBAUTHN'), {}],
    ['a verified email', async () => undefined, { emailVerified: true }],
    ['a verified phone', async () => undefined, { email: null, phone: '+14155550101', phoneVerified: true }],
  ];
  for (const [label, add, data] of otherMethods) {
    it(`unlinks when the user keeps ${label}`, async () => {
      const user = await newUser(data);
      await add(user);
      const linked = await identity(user, 'google', `g-${user.id}`);
      const since = await lastAuditId(server, admin.realmId);
      const payload = payloadOf(
        await server.graphql(UNLINK, {
          input: { userId: user.globalId, provider: 'google', providerUserId: `g-${user.id}` },
        }),
      );
      expect(payload).toEqual({ user: { id: user.globalId, version: 2, uniqueId: null }, userErrors: [] });
      expect(await server.db.prisma.identity.count({ where: { id: linked.id } })).toBe(0);
      const events = await auditSince(server, admin.realmId, since);
      expect(events.map((e) => [e.action, e.targetId, e.changes])).toEqual([
        [
          'user.identity_unlinked',
          user.id,
          { identityId: linked.id, provider: 'google', providerUserId: `g-${user.id}` },
        ],
      ]);
    });
  }

  it('NOT_FOUND when the user has no such identity (another user’s included), or for unknown and foreign users', async () => {
    const user = await newUser({ emailVerified: true });
    const someoneElse = await newUser();
    await identity(someoneElse, 'google', 'theirs');
    await identity(user, 'google', 'mine');
    for (const input of [
      { provider: 'google', providerUserId: 'theirs' },
      { provider: 'github', providerUserId: 'mine' },
    ]) {
      await expectRefused(server, () => server.graphql(UNLINK, { input: { userId: user.globalId, ...input } }), [
        { code: 'NOT_FOUND', field: ['input', 'providerUserId'] },
      ]);
    }
    await expectUserIdRefusals(
      (userId, token) =>
        server.graphql(UNLINK, { input: { userId, provider: 'google', providerUserId: 'mine' } }, token),
      ['input', 'userId'],
    );
  });
});

describe('addAdminNote', () => {
  it('adds a trimmed note authored by the caller’s client id; the version stays', async () => {
    const user = await newUser();
    const since = await lastAuditId(server, admin.realmId);
    const payload = payloadOf(
      await server.graphql(NOTE, {
        input: { userId: user.globalId, body: '  Called about MFA.\n\tVerified by phone.  ' },
      }),
    );
    expect(payload).toEqual({ user: { id: user.globalId, version: 1, uniqueId: null }, userErrors: [] });
    const notes = await server.db.prisma.adminNote.findMany({ where: { userId: user.id } });
    expect(notes.map((n) => [n.body, n.author])).toEqual([['Called about MFA.\n\tVerified by phone.', admin.clientId]]);
    const events = await auditSince(server, admin.realmId, since);
    expect(events.map((e) => [e.action, e.targetId, e.actorId, e.changes])).toEqual([
      ['user.note_added', user.id, admin.clientId, { noteId: notes[0]!.id, length: 37 }],
    ]);
  });

  it('accepts 5000 characters and deleted users', async () => {
    const deleted = await newUser({ status: 'DELETED', deletedAt: new Date() });
    expect(
      payloadOf(await server.graphql(NOTE, { input: { userId: deleted.globalId, body: '🙂'.repeat(5000) } }))
        .userErrors,
    ).toEqual([]);
  });

  it('refuses an empty, over-long or control-character body, and unknown, foreign and wrong-type users', async () => {
    const user = await newUser();
    for (const [body, code] of [
      ['', 'REQUIRED'],
      [' \n\t ', 'REQUIRED'],
      ['x'.repeat(5001), 'TOO_LONG'],
      ['bell\u0007', 'INVALID'],
    ] as const) {
      await expectRefused(server, () => server.graphql(NOTE, { input: { userId: user.globalId, body } }), [
        { code, field: ['input', 'body'] },
      ]);
    }
    await expectUserIdRefusals(
      (userId, token) => server.graphql(NOTE, { input: { userId, body: 'hello' } }, token),
      ['input', 'userId'],
    );
  });
});

describe('setUserUniqueId', () => {
  it('sets a given unique id (trimmed), bumps the version and audits; the same value again changes nothing', async () => {
    const user = await newUser();
    const since = await lastAuditId(server, admin.realmId);
    const payload = payloadOf(
      await server.graphql(UNIQUE_ID, { input: { id: user.globalId, uniqueId: ' EMP-0042 ' } }),
    );
    expect(payload).toEqual({ user: { id: user.globalId, version: 2, uniqueId: 'EMP-0042' }, userErrors: [] });
    const events = await auditSince(server, admin.realmId, since);
    expect(events.map((e) => [e.action, e.targetId, e.changes])).toEqual([
      ['user.unique_id_set', user.id, { uniqueId: { before: null, after: 'EMP-0042' }, generated: false }],
    ]);
    const again = await lastAuditId(server, admin.realmId);
    expect(
      payloadOf(await server.graphql(UNIQUE_ID, { input: { id: user.globalId, uniqueId: 'EMP-0042' } })).user!.version,
    ).toBe(2);
    expect(await auditSince(server, admin.realmId, again)).toEqual([]);
  });

  it('generates a random unused unique id when asked, and clears it with null', async () => {
    const user = await newUser({ uniqueId: 'OLD-1' });
    const since = await lastAuditId(server, admin.realmId);
    const generated = payloadOf(await server.graphql(UNIQUE_ID, { input: { id: user.globalId, generate: true } }));
    expect(generated.userErrors).toEqual([]);
    expect(generated.user!.uniqueId).toMatch(/^usr_[a-z2-7]{20}$/);
    const second = payloadOf(await server.graphql(UNIQUE_ID, { input: { id: user.globalId, generate: true } }));
    expect(second.user!.uniqueId).not.toBe(generated.user!.uniqueId);
    const cleared = payloadOf(await server.graphql(UNIQUE_ID, { input: { id: user.globalId, uniqueId: null } }));
    expect(cleared).toEqual({ user: { id: user.globalId, version: 4, uniqueId: null }, userErrors: [] });
    const events = await auditSince(server, admin.realmId, since);
    expect(events.map((e) => e.changes)).toEqual([
      { uniqueId: { before: 'OLD-1', after: generated.user!.uniqueId }, generated: true },
      { uniqueId: { before: generated.user!.uniqueId, after: second.user!.uniqueId }, generated: true },
      { uniqueId: { before: second.user!.uniqueId, after: null }, generated: false },
    ]);
  });

  it('is unique per realm, deleted users included (TAKEN); other realms may use the same value', async () => {
    await newUser({ uniqueId: 'TAKEN-1' });
    await newUser({ uniqueId: 'TAKEN-2', status: 'DELETED', deletedAt: new Date() });
    await makeUser(server, other.realmId, { uniqueId: 'FREE-HERE' });
    const user = await newUser();
    for (const uniqueId of ['TAKEN-1', 'TAKEN-2']) {
      await expectRefused(server, () => server.graphql(UNIQUE_ID, { input: { id: user.globalId, uniqueId } }), [
        { code: 'TAKEN', field: ['input', 'uniqueId'] },
      ]);
    }
    expect(
      payloadOf(await server.graphql(UNIQUE_ID, { input: { id: user.globalId, uniqueId: 'FREE-HERE' } })).userErrors,
    ).toEqual([]);
  });

  it('validates the input before anything else', async () => {
    const user = await newUser({ uniqueId: 'KEEP' });
    const cases: [Partial<SetUserUniqueIdInput>, { code: string; field: string[] }[]][] = [
      [{}, [{ code: 'REQUIRED', field: ['input', 'uniqueId'] }]],
      [{ uniqueId: '   ' }, [{ code: 'REQUIRED', field: ['input', 'uniqueId'] }]],
      [{ uniqueId: 'x'.repeat(201) }, [{ code: 'TOO_LONG', field: ['input', 'uniqueId'] }]],
      [{ uniqueId: 'a\nb' }, [{ code: 'INVALID', field: ['input', 'uniqueId'] }]],
      [{ uniqueId: 'X', generate: true }, [{ code: 'INVALID', field: ['input', 'generate'] }]],
      [{ uniqueId: 'X', expectedVersion: 7 }, [{ code: 'VERSION_CONFLICT', field: ['input', 'expectedVersion'] }]],
    ];
    for (const [patch, expected] of cases) {
      await expectRefused(
        server,
        () => server.graphql(UNIQUE_ID, { input: { id: user.globalId, ...patch } }),
        expected,
      );
    }
    expect(
      payloadOf(await server.graphql(UNIQUE_ID, { input: { id: user.globalId, uniqueId: 'NEW', expectedVersion: 1 } }))
        .userErrors,
    ).toEqual([]);
    const deleted = await newUser({ status: 'DELETED', deletedAt: new Date() });
    await expectRefused(server, () => server.graphql(UNIQUE_ID, { input: { id: deleted.globalId, generate: true } }), [
      { code: 'INVALID_STATE', field: ['input', 'id'] },
    ]);
    await expectUserIdRefusals(
      (id, token) => server.graphql(UNIQUE_ID, { input: { id, uniqueId: 'Q' } }, token),
      ['input', 'id'],
    );
  });
});

describe('realm isolation of session ids', () => {
  it('a session id names the session only in its own realm', async () => {
    const user = await newUser();
    const s = await session(user);
    expect(encodeGlobalId('Session', s.id)).toBe(s.globalId);
    const result = await server.graphql(REVOKE_ONE, { input: { sessionId: s.globalId } }, otherToken);
    expect(payloadOf(result).userErrors.map((e) => e.code)).toEqual(['NOT_FOUND']);
    expect((await sessionsOf(user))[0]!.revokedAt).toBeNull();
  });
});
